/**
 * Outage correlation: when K clusters of one workspace fail with the same cloud or service class
 * within a window, they are one outage, not K incidents. The outage gets one ticket of its own
 * (`OUT-…`), one notification, and one probe: a single child recovers first (through the blast-radius
 * cap and the workflow's guard); the other children wait `held_by_outage`. The probe's outcome decides:
 * recovered (verified) → the children are released through the cap; closed without a verified recovery
 * → the next held child probes; escalated → the outage escalates with every child's evidence. An
 * operator may resolve an outage still probing (`rca outage resolve ID`), which releases them.
 *
 * This module holds the pure decisions; the window and the outage live in DynamoDB
 * (`store/outages.ts`), the incident path (`core/incident.ts`) asks `correlate`, and the probe's end is
 * settled by the workflow's Close/Escalate and by the poller's reconciler (`poller/outage.ts`).
 */
import type { Classification } from './classifier/types.ts';
import { ConfigurationError, describeIssues } from './errors.ts';
import * as z from './zod.ts';

/** Recovery status of a child whose automated recovery waits for its outage's probe. */
export const HELD_BY_OUTAGE = 'held_by_outage';
/** Recovery status of a held child escalated together with its outage. */
export const OUTAGE_ESCALATED = 'outage_escalated';

/** The cloud and service classes whose failures correlate into an outage. */
export const OUTAGE_CLASSES = [
  'capacity',
  'stockout',
  'cloud_provider',
  'workspace_update',
  'certificate_rotation',
  'network',
] as const;
export type OutageClass = (typeof OUTAGE_CLASSES)[number];

/**
 * The outage class of a failure, from the classifier's facts (error type, category, termination code
 * and type); the first matching row wins:
 *
 * | facts                                                         | class                  |
 * |---------------------------------------------------------------|------------------------|
 * | code `CERT_ROTATION`                                          | `certificate_rotation` |
 * | code `WORKSPACE_UPDATE` or `MAINTENANCE_MODE`                 | `workspace_update`     |
 * | error type `DatabricksWorkspaceMaintenance` (no code: the free-text rule) | `workspace_update` |
 * | code `CLOUD_PROVIDER_RESOURCE_STOCKOUT`                       | `stockout`             |
 * | error type `DatabricksResourceExhausted` (cloud capacity)     | `capacity`             |
 * | error type `DatabricksNetworkFailure` (transient network)     | `network`              |
 * | termination type `CLOUD_FAILURE`, category startup/infrastructure | `cloud_provider`   |
 * | anything else (driver, spot, configuration, quota, pool, …)   | none: never held       |
 *
 * Customer-side causes (misconfiguration, quotas, permissions), one pool's size and one cluster's
 * driver are not outages: they never hold anything.
 */
export function outageClassOf(
  classification: Pick<Classification, 'errorType' | 'category' | 'code' | 'type'>,
): OutageClass | undefined {
  const { errorType, category, code, type } = classification;
  if (code === 'CERT_ROTATION') return 'certificate_rotation';
  if (code === 'WORKSPACE_UPDATE' || code === 'MAINTENANCE_MODE') return 'workspace_update';
  // Databricks' own maintenance of the workspace, named by free text rather than a code.
  if (errorType === 'DatabricksWorkspaceMaintenance') return 'workspace_update';
  if (code === 'CLOUD_PROVIDER_RESOURCE_STOCKOUT') return 'stockout';
  if (errorType === 'DatabricksResourceExhausted') return 'capacity';
  if (errorType === 'DatabricksNetworkFailure') return 'network';
  if (type === 'CLOUD_FAILURE' && (category === 'startup' || category === 'infrastructure'))
    return 'cloud_provider';
  return undefined;
}

/** An outage opens at this many failures of one class in one workspace … */
export const DEFAULT_OUTAGE_THRESHOLD = 5;
/** … within this many minutes. */
export const DEFAULT_OUTAGE_WINDOW_MINUTES = 10;

const RuleSchema = z.strictObject({
  threshold: z.optional(z.number().check(z.int(), z.gte(2), z.lte(1000))),
  windowMinutes: z.optional(z.number().check(z.int(), z.gte(1), z.lte(1440))),
  enabled: z.optional(z.boolean()),
});

/**
 * `OUTAGE_CORRELATION` (CDK context `outageCorrelation`):
 * `{ "default": { "threshold": 5, "windowMinutes": 10 }, "workspaces": { "prod": { "threshold": 10 } } }`.
 * A workspace not named gets `default`; `enabled: false` switches correlation off.
 */
export const OutageConfigSchema = z.strictObject({
  default: z._default(RuleSchema, {}),
  workspaces: z._default(z.record(z.string().check(z.minLength(1), z.maxLength(64)), RuleSchema), {}),
});
export type OutageConfig = z.infer<typeof OutageConfigSchema>;

export interface OutageRule {
  readonly enabled: boolean;
  readonly threshold: number;
  readonly windowMs: number;
}

/** Parses `OUTAGE_CORRELATION` (JSON; absent or empty: the defaults); a bad value names the key. */
export function parseOutageConfig(raw: string | undefined): OutageConfig {
  let value: unknown = {};
  if (raw !== undefined && raw.trim() !== '') {
    try {
      value = JSON.parse(raw);
    } catch {
      throw new ConfigurationError(
        'OUTAGE_CORRELATION must be JSON: {"default": {"threshold": 5, "windowMinutes": 10}}',
      );
    }
  }
  const parsed = OutageConfigSchema.safeParse(value);
  if (!parsed.success)
    throw new ConfigurationError(`OUTAGE_CORRELATION: ${describeIssues(parsed.error).join('; ')}`);
  return parsed.data;
}

/** The rule of one workspace: its own keys over the default's over the built-in defaults. */
export function outageRuleOf(config: OutageConfig, workspaceId: string): OutageRule {
  const own = config.workspaces[workspaceId] ?? {};
  const threshold = own.threshold ?? config.default.threshold ?? DEFAULT_OUTAGE_THRESHOLD;
  const minutes = own.windowMinutes ?? config.default.windowMinutes ?? DEFAULT_OUTAGE_WINDOW_MINUTES;
  return {
    enabled: own.enabled ?? config.default.enabled ?? true,
    threshold,
    windowMs: minutes * 60_000,
  };
}

/** One failure counted in a class's window: its cluster and when it was observed (epoch ms). */
export interface WindowMember {
  readonly clusterId: string;
  readonly at: number;
  readonly incidentKey?: string;
  /** The failure's own ticket, recorded when it was opened on its own (before any outage). */
  readonly ticketId?: string;
}

/** The failures of one class in one workspace, and the outage open for them, if any. */
export interface OutageWindow {
  readonly members: readonly WindowMember[];
  readonly outageId?: string;
  /** Epoch ms: failures before this belong to an outage that ended and count no more. */
  readonly resetAt?: number;
}

export type Correlation =
  /** Not (yet) an outage: the failure is handled on its own. */
  | { readonly kind: 'none'; readonly count: number }
  /** An outage of its class is open: the failure joins it as a held child. */
  | { readonly kind: 'join'; readonly outageId: string }
  /** This failure makes K: open the outage (`members` are the failures counted, this one included). */
  | { readonly kind: 'open'; readonly members: readonly WindowMember[] };

/**
 * What a failure of an outage class means, given its class's window after it was counted in:
 *
 * | window                                   | correlation |
 * |------------------------------------------|-------------|
 * | an outage is open                        | `join`      |
 * | ≥ threshold failures in the window       | `open`      |
 * | fewer                                    | `none`      |
 *
 * The window is `windowMs` back from now, never before the end of the last outage (`resetAt`).
 */
export function correlate(window: OutageWindow, rule: OutageRule, now: number): Correlation {
  if (window.outageId !== undefined) return { kind: 'join', outageId: window.outageId };
  const members = membersInWindow(window, rule, now);
  if (members.length >= rule.threshold) return { kind: 'open', members };
  return { kind: 'none', count: members.length };
}

/** The failures the window counts now: `windowMs` back from now, none from before the last outage's end. */
export function membersInWindow(window: OutageWindow, rule: OutageRule, now: number): WindowMember[] {
  const since = Math.max(now - rule.windowMs, window.resetAt ?? Number.NEGATIVE_INFINITY);
  return window.members.filter((m) => m.at >= since);
}

export const OUTAGE_STATUSES = ['probing', 'released', 'escalated', 'resolved'] as const;
/**
 * `probing`: children held, one probe recovering. `released`: the probe recovered, the children went
 * to the cap's queue. `escalated`: the probe failed; the children were escalated with the outage.
 * `resolved`: an operator resolved it while it probed (`rca outage resolve`); the children went to the
 * queue. Only a probing outage can be resolved: an ended one is final.
 */
export type OutageStatus = (typeof OUTAGE_STATUSES)[number];

/** The evidence kept of each child: what failed and how. */
export interface OutageChild {
  readonly ticketId: string;
  readonly clusterId?: string;
  readonly clusterName?: string;
  readonly errorType: string;
  readonly code?: string;
  readonly reason: string;
  readonly detectedAt: string;
  /** `held`, `probe`, or `running` (started on its own before the outage opened). */
  readonly role: 'held' | 'probe' | 'running';
}

export interface Outage {
  /** `OUT-YYYYMMDD-<ms of the day>-<hex>` */
  readonly outageId: string;
  readonly workspaceId: string;
  readonly outageClass: OutageClass;
  readonly status: OutageStatus;
  /** ISO timestamps. */
  readonly openedAt: string;
  readonly endedAt?: string;
  readonly threshold: number;
  readonly windowMinutes: number;
  /** The clusters counted when it opened. */
  readonly members: readonly string[];
  readonly probeTicketId?: string;
  /**
   * True when the failures' playbook escalates (workspace maintenance by default): there is no
   * automated recovery to probe, so the outage escalates with every child after the grace period.
   */
  readonly escalates?: boolean;
  readonly children: readonly OutageChild[];
  readonly reason?: string;
  readonly resolvedBy?: string;
  readonly version: number;
}

/**
 * The recovery statuses of a closed ticket whose recovery was verified (the workflow's health check
 * passed): only these prove that the outage's class of failure is over.
 */
export const VERIFIED_RECOVERIES: readonly string[] = ['recovered', 'recovered_restore_pending'];

/** What the probe's ticket says about its outage. */
export type ProbeVerdict =
  | 'wait'
  | 'release'
  | 'escalate'
  | 'pick_probe'
  | 'next_probe'
  | 'start_probe'
  | 'done';

/**
 * | outage               | probe ticket                                 | verdict      |
 * |----------------------|----------------------------------------------|--------------|
 * | not `probing`        | —                                            | `done`       |
 * | `escalates` (its failures' playbook escalates) | — (opened at least `graceMs` ago; younger: `wait`) | `escalate` |
 * | no probe yet         | — (opened at least `graceMs` ago)            | `pick_probe` |
 * | no probe yet         | — (younger)                                  | `wait`       |
 * | probe named          | closed, its recovery verified (`VERIFIED_RECOVERIES`) | `release` |
 * | probe named          | closed otherwise (resolved without action: nothing was wrong any more or nothing was done; denied) | `next_probe` |
 * | probe named          | escalated, suppressed, or gone               | `escalate`   |
 * | probe named          | still held (its start was cut short), at least `graceMs` since it changed | `start_probe` |
 * | probe named          | open or in progress                          | `wait`       |
 */
export function probeVerdict(
  outage: Pick<Outage, 'status' | 'probeTicketId' | 'openedAt' | 'escalates'>,
  probe:
    | { readonly status: string; readonly recoveryStatus?: string; readonly updatedAt?: string }
    | undefined,
  now: number,
  graceMs: number,
): ProbeVerdict {
  if (outage.status !== 'probing') return 'done';
  // Nothing to probe (its failures' playbook escalates): one escalation for all, once they gathered.
  if (outage.escalates === true) return now - Date.parse(outage.openedAt) >= graceMs ? 'escalate' : 'wait';
  if (outage.probeTicketId === undefined)
    return now - Date.parse(outage.openedAt) >= graceMs ? 'pick_probe' : 'wait';
  if (probe === undefined) return 'escalate';
  // A probe closed without a verified recovery proves nothing about the outage: another child probes.
  if (probe.status === 'closed')
    return VERIFIED_RECOVERIES.includes(probe.recoveryStatus ?? '') ? 'release' : 'next_probe';
  if (probe.status === 'escalated' || probe.status === 'suppressed') return 'escalate';
  if (
    probe.status === 'open' &&
    probe.recoveryStatus === HELD_BY_OUTAGE &&
    now - Date.parse(probe.updatedAt ?? outage.openedAt) >= graceMs
  )
    return 'start_probe';
  return 'wait';
}

/**
 * What becomes of a child still held when its outage is no longer probing (it joined as the outage
 * ended, or its release was cut short): released → queued through the cap; escalated → escalated;
 * still probing → stays held. An outage that cannot be found escalates the child: when in doubt, a
 * human decides.
 */
export function heldChildVerdict(
  outage: Pick<Outage, 'status'> | undefined,
): 'hold' | 'release' | 'escalate' {
  if (outage === undefined || outage.status === 'escalated') return 'escalate';
  return outage.status === 'probing' ? 'hold' : 'release';
}

/** The summary of an outage for its one notification and the escalation. */
export function outageSummary(outage: Outage, what: 'opened' | 'escalated'): string {
  const count = outage.children.length;
  const head = `${count} cluster${count === 1 ? '' : 's'} of workspace ${outage.workspaceId} failed with ${outage.outageClass.replaceAll('_', ' ')} (${outage.threshold}+ within ${outage.windowMinutes} min): one outage, ${outage.outageId}`;
  const probe = outage.probeTicketId === undefined ? '' : ` (${outage.probeTicketId})`;
  if (what === 'opened' && outage.status === 'probing')
    return `${head}. Automated recoveries of the class are held; one probe recovers first${probe}, and the others follow through the blast-radius cap when it recovers. Resolve it by hand: rca outage resolve ${outage.outageId}`;
  if (what === 'opened')
    return `${head}. It is ${outage.status} (${outage.reason ?? 'no reason'}): the held recoveries follow through the blast-radius cap, each re-reading its cluster first.`;
  const evidence = outage.children
    .map((c) => `${c.ticketId} ${c.clusterName ?? c.clusterId ?? ''} ${c.code ?? c.errorType}: ${c.reason}`)
    .join('; ');
  return `${head}. The probe failed (${outage.reason ?? 'no reason'}); every held recovery is escalated. Children: ${evidence}`;
}
