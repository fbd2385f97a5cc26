/**
 * `rca doctor [--cluster C [--workspace W]] [--webhook-key KEY]`: the seed's common issues checked
 * from the outside (the webhook and its key) and by the operations API (why a cluster was or was
 * not recovered).
 */
import { optionalEnv } from '../../functions/shared/env.ts';
import { type CheckRow, checkLines, command, print } from './command.ts';
import { EXIT, opsRequest } from './ops-client.ts';
import { credentialHeaders, postToWebhook } from './smoke.ts';

export const doctorCommand = command(
  'doctor',
  { cluster: { type: 'string' }, workspace: { type: 'string' }, 'webhook-key': { type: 'string' } },
  async (_p, values, connection, io) => {
    const webhookKey =
      typeof values['webhook-key'] === 'string' ? values['webhook-key'] : optionalEnv('RCA_API_KEY');
    const webhook = await webhookCheck(connection.url, webhookKey);
    const result = await opsRequest<{ ok: boolean; checks: CheckRow[] }>(connection, 'GET', '/doctor', {
      query: {
        cluster: values.cluster as string | undefined,
        workspace: values.workspace as string | undefined,
      },
    });
    const checks = [webhook, ...result.checks];
    const ok = checks.every((c) => c.status !== 'fail');
    print(
      io,
      values,
      { ok, checks },
      () =>
        `${checkLines(checks)}\n${ok ? 'doctor: no problem found' : 'doctor: problems found (FAIL above)'}\n`,
    );
    return ok ? EXIT.ok : EXIT.failed;
  },
  'rca doctor [--cluster C [--workspace W]] [--webhook-key KEY]',
);

/** The seed's Issue 1: the webhook answers the connectivity test with the key. */
async function webhookCheck(base: string, key: string | undefined): Promise<CheckRow> {
  const name = 'webhook';
  if (key === undefined || key === '') {
    return {
      name,
      status: 'warn',
      detail: 'not checked: give the webhook key with --webhook-key or RCA_API_KEY',
    };
  }
  try {
    const res = await postToWebhook(base, { event: 'test' }, credentialHeaders(key, undefined));
    if (res.status === 200)
      return { name, status: 'ok', detail: `${base}/databricks-monitor accepts the key` };
    if (res.status === 401 || res.status === 403)
      return {
        name,
        status: 'fail',
        detail: `the webhook refuses the key (${res.status})`,
        fix: "use the key in the intake secret (`current` or `previous`); Databricks' notification destination must send the same",
      };
    return { name, status: 'fail', detail: `the webhook answered ${res.status}`, fix: 'see the intake logs' };
  } catch (error) {
    return {
      name,
      status: 'fail',
      detail: `the webhook cannot be reached (${(error as Error).message})`,
      fix: 'check the URL, the WAF and that Databricks can reach it (not localhost)',
    };
  }
}
