/**
 * `npm start`'s host for the `rca` tests: started before a file's tests with the playbook overrides
 * of a fixture, closed after them, its simulator's harm ledger checked after each test; `rca` runs
 * in process against its operations API with the local operator key.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { Ticket } from '../../functions/core/ticket.ts';
import { type LocalHost, startLocalHost } from '../../lib/local/host.ts';
import type { TerminationReasonSeed } from '../../lib/simulator/scenario.ts';
import { type CliRun, runCli } from './cli.ts';
import { useHarmLedger } from './harms.ts';

const ROOT = join(import.meta.dirname, '../..');
const MUTATION = /\/clusters\/(start|restart|update|edit|resize)$/;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface TicketView {
  readonly ticket: Ticket;
  readonly audit: { event: string; actor: string }[];
}

export interface LocalHostCli {
  /** The host; only inside tests and hooks (it starts in `beforeAll`). */
  host(): LocalHost;
  rca(args: string[]): Promise<CliRun>;
  /** POSTs `body` to the webhook with the host's API key: its JSON answer. */
  post(body: unknown): Promise<Record<string, unknown>>;
  /** A running cluster of the demo fails with `reason`; the webhook is told once it is TERMINATED. */
  failAndReport(clusterId: string, reason: TerminationReasonSeed): Promise<Record<string, unknown>>;
  /** `rca ticket ID --json`. */
  ticket(id: string): Promise<TicketView>;
  /** The ticket once `done` holds (read every 100 ms, 200 times at most). */
  ticketWhen(id: string, done: (t: Ticket) => boolean): Promise<Ticket>;
  /** The calls that changed `clusterId` (start, restart, update, edit, resize). */
  mutationsOf(clusterId: string): { method: string; path: string }[];
}

export function useLocalHostCli(playbooksFixture: string): LocalHostCli {
  let started: LocalHost | undefined;
  beforeAll(async () => {
    started = await startLocalHost({
      port: 0,
      apiKey: randomBytes(24).toString('hex'),
      pollIntervalSeconds: 0,
      playbookOverrides: JSON.parse(readFileSync(join(ROOT, playbooksFixture), 'utf8')),
    });
  });
  useHarmLedger(() => started?.simulator);
  afterAll(async () => {
    await started?.close();
  });

  const host = () => {
    if (started === undefined) throw new Error('the local host is not started: use it inside a test');
    return started;
  };
  const rca = (args: string[]) => runCli([...args, '--url', host().url, '--key', host().operatorKey]);
  const post = async (body: unknown) => {
    const res = await fetch(`${host().url}/databricks-monitor`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': host().apiKey },
      body: JSON.stringify(body),
    });
    return (await res.json()) as Record<string, unknown>;
  };
  const ticket = async (id: string): Promise<TicketView> =>
    JSON.parse((await rca(['ticket', id, '--json'])).stdout);
  return {
    host,
    rca,
    post,
    ticket,
    async failAndReport(clusterId, reason) {
      const sim = host().simulator;
      sim?.admin.failCluster(clusterId, reason);
      for (let i = 0; i < 200 && sim?.admin.cluster(clusterId)?.state !== 'TERMINATED'; i++) await sleep(25);
      return post({ event: 'cluster.terminated', cluster: { cluster_id: clusterId } });
    },
    async ticketWhen(id, done) {
      for (let i = 0; i < 200; i++) {
        const found = (await ticket(id)).ticket;
        if (done(found)) return found;
        await sleep(100);
      }
      throw new Error(`ticket ${id} never settled`);
    },
    mutationsOf: (clusterId) =>
      (host().simulator?.admin.requestLog() ?? []).filter(
        (r) => r.clusterId === clusterId && r.method === 'POST' && MUTATION.test(r.path),
      ),
  };
}
