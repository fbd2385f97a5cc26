/**
 * `rca doctor`: the seed's "Common issues" checked instead of listed. Issue 2 ("cluster detected but
 * recovery not triggered"): AUTO_REMEDIATION_ENABLED, a playbook for every error type, breakers open,
 * silences active, Databricks credentials valid and allowed what recovery needs. Issue 1 (the webhook
 * reachable with the key) is checked by the CLI from the outside. For one cluster: why its last failure
 * was or was not recovered.
 */
import { type Breaker, breakerScopes } from '../core/breaker.ts';
import { ERROR_TYPES } from '../core/error-types.ts';
import type { PlaybookTable } from '../core/playbooks.ts';
import { describeTarget, isActive, matches, type Silence } from '../core/silence.ts';
import type { Ticket } from '../core/ticket.ts';
import {
  DatabricksApiError,
  DatabricksConnectionError,
  DatabricksPermissionDeniedError,
  DatabricksUnauthenticatedError,
} from '../databricks/errors.ts';
import { HttpError } from '../intake/http.ts';
import { listBreakers } from './breakers.ts';
import type { OpsDeps } from './deps.ts';
import { DAY_MS } from './input.ts';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface Check {
  readonly name: string;
  readonly status: CheckStatus;
  readonly detail: string;
  /** What to do about it, when it is not ok. */
  readonly fix?: string;
}

export interface DoctorFacts {
  readonly autoRemediationEnabled: boolean;
  readonly playbooks: PlaybookTable;
  /** Breakers not closed. */
  readonly breakers: readonly Breaker[];
  readonly activeSilences: readonly Silence[];
  /** Tickets held `disabled` that nobody retried. */
  readonly disabledTickets: number;
  /** Per workspace: undefined when a read with its credentials worked, else the error. */
  readonly workspaces: ReadonlyMap<string, unknown>;
}

export function doctorChecks(facts: DoctorFacts): Check[] {
  const checks: Check[] = [];
  checks.push(
    facts.autoRemediationEnabled
      ? facts.disabledTickets === 0
        ? { name: 'auto remediation', status: 'ok', detail: 'AUTO_REMEDIATION_ENABLED is true' }
        : {
            name: 'auto remediation',
            status: 'warn',
            detail: `AUTO_REMEDIATION_ENABLED is true, but ${facts.disabledTickets} ticket(s) were held while it was false`,
            fix: 'run `rca retry --disabled` to re-drive them',
          }
      : {
          name: 'auto remediation',
          status: 'fail',
          detail:
            'AUTO_REMEDIATION_ENABLED is false: failures are ticketed `disabled` and nothing is recovered',
          fix: 'set AUTO_REMEDIATION_ENABLED=true (CDK context autoRemediationEnabled), then `rca retry --disabled`',
        },
  );
  const missing = ERROR_TYPES.filter((type) => facts.playbooks[type] === undefined);
  const disabled = ERROR_TYPES.filter((type) => facts.playbooks[type]?.enabled === false);
  const shadow = ERROR_TYPES.filter((type) => facts.playbooks[type]?.mode === 'shadow');
  checks.push(
    missing.length > 0
      ? {
          name: 'playbooks',
          status: 'fail',
          detail: `no playbook for ${missing.join(', ')}`,
          fix: 'add them to the playbook overrides',
        }
      : disabled.length + shadow.length > 0
        ? {
            name: 'playbooks',
            status: 'warn',
            detail: [
              disabled.length > 0 ? `disabled: ${disabled.join(', ')}` : '',
              shadow.length > 0 ? `shadow mode (nothing changed): ${shadow.join(', ')}` : '',
            ]
              .filter(Boolean)
              .join('; '),
            fix: 'set enabled: true / mode: "active" in the playbook overrides if these should recover',
          }
        : {
            name: 'playbooks',
            status: 'ok',
            detail: `a playbook for each of the ${ERROR_TYPES.length} error types`,
          },
  );
  checks.push(
    facts.breakers.length === 0
      ? { name: 'circuit breakers', status: 'ok', detail: 'none open' }
      : {
          name: 'circuit breakers',
          status: 'warn',
          detail: facts.breakers.map((b) => `${b.scope} is ${b.state} (${b.reason})`).join('; '),
          fix: 'recoveries in these scopes are escalated; once the cause is fixed: `rca breaker close SCOPE --reason ...`',
        },
  );
  checks.push(
    facts.activeSilences.length === 0
      ? { name: 'silences', status: 'ok', detail: 'none active' }
      : {
          name: 'silences',
          status: 'warn',
          detail: facts.activeSilences
            .map((s) => `${s.silenceId} silences ${describeTarget(s)} until ${s.until} (${s.reason})`)
            .join('; '),
          fix: 'failures they cover are ticketed `silenced` and not recovered; `rca silence remove ID` to end one',
        },
  );
  for (const [workspaceId, error] of facts.workspaces) checks.push(workspaceCheck(workspaceId, error));
  return checks;
}

/** Explains a failed read made with a workspace's credentials. */
export function workspaceCheck(workspaceId: string, error: unknown): Check {
  const name = `workspace ${workspaceId}`;
  if (error === undefined)
    return { name, status: 'ok', detail: 'the credentials are accepted and can list clusters' };
  if (error instanceof DatabricksUnauthenticatedError)
    return {
      name,
      status: 'fail',
      detail: `Databricks rejects the token (401 ${error.errorCode}): it is wrong, expired or revoked`,
      fix: `put a valid token (or OAuth client) in the workspace's credentials secret (locally: DATABRICKS_TOKEN)`,
    };
  if (error instanceof DatabricksPermissionDeniedError)
    return {
      name,
      status: 'fail',
      detail: `the credentials may not read clusters (403 ${error.errorCode}: ${error.apiMessage})`,
      fix: 'grant the service principal CAN_RESTART (CAN_MANAGE to change node types) on the clusters it recovers',
    };
  if (error instanceof DatabricksConnectionError)
    return {
      name,
      status: 'fail',
      detail: `Databricks cannot be reached (${error.message})`,
      fix: "check the workspace's host and the network path (NAT, security groups)",
    };
  if (error instanceof DatabricksApiError)
    return { name, status: 'fail', detail: error.message, fix: 'see the Databricks error above' };
  return {
    name,
    status: 'fail',
    detail: (error as Error)?.message ?? String(error),
    fix: "check the workspace's configuration and its credentials secret",
  };
}

export interface ClusterFacts {
  readonly workspaceId: string;
  readonly clusterId: string;
  /** The cluster's newest ticket, if any in the window. */
  readonly ticket?: Ticket;
  readonly playbooks: PlaybookTable;
  readonly breakers: readonly Breaker[];
  readonly silences: readonly Silence[];
  readonly autoRemediationEnabled: boolean;
  /** The cluster as Databricks reports it, or the error reading it. */
  readonly cluster: { readonly state?: string; readonly error?: unknown };
  readonly windowDays: number;
}

/** Why the cluster's last failure was or was not recovered, as checks. */
export function clusterChecks(facts: ClusterFacts): Check[] {
  const checks: Check[] = [];
  const { ticket } = facts;
  checks.push(
    facts.cluster.error === undefined
      ? { name: 'cluster', status: 'ok', detail: `${facts.clusterId} is ${facts.cluster.state ?? 'unknown'}` }
      : { ...workspaceCheck(facts.workspaceId, facts.cluster.error), name: 'cluster' },
  );
  if (ticket === undefined) {
    checks.push({
      name: 'ticket',
      status: 'warn',
      detail: `no failure of ${facts.clusterId} was ticketed in the last ${facts.windowDays} days`,
      fix: 'if it failed, the news never arrived: send the connectivity test (`rca doctor` checks it with the webhook key) and check the poller',
    });
    return checks;
  }
  checks.push({
    name: 'ticket',
    status: ticket.status === 'closed' ? 'ok' : ticket.status === 'escalated' ? 'fail' : 'warn',
    detail: `${ticket.ticketId} (${ticket.errorType}, detected ${ticket.detectedAt}) is ${ticket.status}, recovery ${ticket.recoveryStatus}${ticket.escalationReason === undefined ? '' : `: ${ticket.escalationReason}`}`,
    ...(ticket.status === 'escalated' || ticket.recoveryStatus === 'disabled' || ticket.status === 'silenced'
      ? { fix: `once the cause is fixed: \`rca retry ${ticket.ticketId}\`` }
      : {}),
  });
  const playbook = facts.playbooks[ticket.errorType];
  checks.push(
    playbook === undefined
      ? { name: 'playbook', status: 'fail', detail: `no playbook for ${ticket.errorType}` }
      : ticket.action === 'escalate' || playbook.action === 'escalate'
        ? {
            name: 'playbook',
            status: 'warn',
            detail: `${ticket.errorType} has no safe automatic action: it is always escalated to a person`,
          }
        : {
            name: 'playbook',
            status: playbook.enabled && playbook.mode === 'active' ? 'ok' : 'warn',
            detail: `${ticket.errorType}: ${playbook.action}, ${playbook.enabled ? 'enabled' : 'disabled'}, ${playbook.mode} mode`,
          },
  );
  checks.push(
    facts.autoRemediationEnabled
      ? { name: 'auto remediation', status: 'ok', detail: 'AUTO_REMEDIATION_ENABLED is true' }
      : { name: 'auto remediation', status: 'fail', detail: 'AUTO_REMEDIATION_ENABLED is false' },
  );
  const subject = { workspaceId: facts.workspaceId, clusterId: facts.clusterId, errorType: ticket.errorType };
  const scopes = breakerScopes(subject);
  const blocking = facts.breakers.filter((b) => scopes.includes(b.scope));
  checks.push(
    blocking.length === 0
      ? { name: 'breakers', status: 'ok', detail: `${scopes.join(' and ')} closed` }
      : {
          name: 'breakers',
          status: 'fail',
          detail: blocking.map((b) => `${b.scope} is ${b.state} (${b.reason})`).join('; '),
          fix: 'once the cause is fixed: `rca breaker close SCOPE --reason ...`',
        },
  );
  const silence = facts.silences.find((s) => matches(s, subject));
  checks.push(
    silence === undefined
      ? { name: 'silence', status: 'ok', detail: 'no active silence covers it' }
      : {
          name: 'silence',
          status: 'warn',
          detail: `${silence.silenceId} silences ${describeTarget(silence)} until ${silence.until} (${silence.reason})`,
          fix: `\`rca silence remove ${silence.silenceId}\` to let the automation act again`,
        },
  );
  return checks;
}

export interface DoctorResult {
  readonly ok: boolean;
  readonly checks: readonly Check[];
}

export async function doctor(
  cluster: string | undefined,
  workspace: string | undefined,
  deps: OpsDeps,
): Promise<DoctorResult> {
  const now = deps.clock();
  const [breakers, silences, open] = await Promise.all([
    listBreakers(deps),
    deps.silences.list(),
    deps.tickets.listByStatus('open', 1000),
  ]);
  const activeSilences = silences.filter((s) => isActive(s, now));
  const workspaces = new Map<string, unknown>();
  await Promise.all(
    deps.workspaceIds.map(async (id) => {
      try {
        await deps.databricks(id).listClusters({ page_size: 1 });
        workspaces.set(id, undefined);
      } catch (error) {
        workspaces.set(id, error);
      }
    }),
  );
  const checks = doctorChecks({
    autoRemediationEnabled: deps.autoRemediationEnabled,
    playbooks: deps.playbooks,
    breakers,
    activeSilences,
    disabledTickets: open.tickets.filter((t) => t.recoveryStatus === 'disabled').length,
    workspaces: new Map(deps.workspaceIds.map((id) => [id, workspaces.get(id)])),
  });
  if (cluster !== undefined) {
    const workspaceId = workspace ?? (deps.workspaceIds.length === 1 ? deps.workspaceIds[0] : undefined);
    if (workspaceId === undefined || !deps.workspaceIds.includes(workspaceId)) {
      throw new HttpError(400, `workspace: name one of ${deps.workspaceIds.join(', ')} with --workspace`);
    }
    const windowDays = 30;
    const tickets = await deps.queries.detectedSince(new Date(now - windowDays * DAY_MS).toISOString());
    const ticket = tickets.find((t) => t.clusterId === cluster && t.workspaceId === workspaceId);
    let state: { state?: string; error?: unknown };
    try {
      state = { state: (await deps.databricks(workspaceId).getCluster(cluster)).state ?? 'UNKNOWN' };
    } catch (error) {
      state = { error };
    }
    checks.push(
      ...clusterChecks({
        workspaceId,
        clusterId: cluster,
        ...(ticket === undefined ? {} : { ticket }),
        playbooks: deps.playbooks,
        breakers,
        silences: activeSilences,
        autoRemediationEnabled: deps.autoRemediationEnabled,
        cluster: state,
        windowDays,
      }).map((check) => ({ ...check, name: `${cluster}: ${check.name}` })),
    );
  }
  return { ok: checks.every((c) => c.status !== 'fail'), checks };
}
