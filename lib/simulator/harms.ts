/**
 * The harm ledger: every mutating cluster call the API accepts (and a few it refuses) is judged
 * against what a careful operator would never do, and what it breaks is recorded. Databricks itself
 * accepts these calls, so the simulator records and never blocks; tests read the ledger to prove a
 * recovery did no harm.
 *
 * | rule                               | call                                   | when                                                                 |
 * |------------------------------------|----------------------------------------|----------------------------------------------------------------------|
 * | `mutate_owned_cluster`             | any                                    | `cluster_source` is JOB, PIPELINE, PIPELINE_MAINTENANCE, SQL, MODELS  |
 * | `start_after_user_termination`     | start                                  | TERMINATED with a SUCCESS-type reason (USER_REQUEST, INACTIVITY, …)   |
 * | `start_idle_cluster`               | start                                  | it had been idle its autotermination window when it terminated        |
 * | `restart_healthy_cluster`          | restart                                | RUNNING and its driver healthy (no loss since start, or healed since) |
 * | `restart_of_running_config_change` | edit, update                           | RUNNING (the change restarts it)                                      |
 * | `security_rollback`                | edit, update                           | a security or identity attribute changes                              |
 */
import type { ClusterSource } from '../../functions/core/schemas/common.ts';

export const HARM_RULES = [
  'mutate_owned_cluster',
  'start_after_user_termination',
  'start_idle_cluster',
  'restart_healthy_cluster',
  'restart_of_running_config_change',
  'security_rollback',
] as const;
export type HarmRule = (typeof HARM_RULES)[number];

/** Clusters another Databricks service owns: only that service may act on them. */
export const OWNED_SOURCES: ReadonlySet<string> = new Set<ClusterSource>([
  'JOB',
  'PIPELINE',
  'PIPELINE_MAINTENANCE',
  'SQL',
  'MODELS',
]);

/** Attributes that decide who a cluster runs as and what it may reach (dotted paths). */
export const SECURITY_PATHS = [
  'data_security_mode',
  'single_user_name',
  'policy_id',
  'aws_attributes.instance_profile_arn',
  'gcp_attributes.google_service_account',
] as const;

export type MutatingCall = 'start' | 'restart' | 'edit' | 'update' | 'resize' | 'delete' | 'permanent-delete';

/** What the rules need to know about a cluster just before the call changes it. */
export interface ClusterFacts {
  readonly source: string;
  readonly state: string;
  readonly terminationType?: string | undefined;
  readonly terminationCode?: string | undefined;
  /** No state loss since it came up, or a DRIVER_HEALTHY after the last one. */
  readonly driverHealthy: boolean;
  /** It had been idle for its whole autotermination window when it terminated. */
  readonly idleAtTermination: boolean;
  /** Its configuration before an edit/update, and the one the call asks for. */
  readonly previousConfig?: Readonly<Record<string, unknown>>;
  readonly nextConfig?: Readonly<Record<string, unknown>>;
}

export interface Verdict {
  readonly rule: HarmRule;
  readonly detail: string;
}

/** Every rule the call breaks (none: it is what a careful operator could do). Pure. */
export function judge(call: MutatingCall, facts: ClusterFacts): Verdict[] {
  const verdicts: Verdict[] = [];
  if (OWNED_SOURCES.has(facts.source)) {
    verdicts.push({
      rule: 'mutate_owned_cluster',
      detail: `${call} of a ${facts.source} cluster, which its owning service manages`,
    });
  }
  if (call === 'start' && facts.state === 'TERMINATED') {
    if (facts.terminationType === 'SUCCESS') {
      verdicts.push({
        rule: 'start_after_user_termination',
        detail: `start of a cluster terminated normally (${facts.terminationCode ?? 'unknown'}/SUCCESS)`,
      });
    }
    if (facts.idleAtTermination) {
      verdicts.push({
        rule: 'start_idle_cluster',
        detail: 'start of a cluster that was idle for its autotermination window when it terminated',
      });
    }
  }
  if (call === 'restart' && facts.state === 'RUNNING' && facts.driverHealthy) {
    verdicts.push({
      rule: 'restart_healthy_cluster',
      detail: 'restart of a RUNNING cluster whose driver is healthy',
    });
  }
  if ((call === 'edit' || call === 'update') && facts.previousConfig && facts.nextConfig) {
    if (facts.state === 'RUNNING') {
      verdicts.push({
        rule: 'restart_of_running_config_change',
        detail: `${call} of a RUNNING cluster, which restarts it to apply the change`,
      });
    }
    const changed = SECURITY_PATHS.filter(
      (path) => JSON.stringify(at(facts.previousConfig, path)) !== JSON.stringify(at(facts.nextConfig, path)),
    );
    if (changed.length > 0) {
      verdicts.push({ rule: 'security_rollback', detail: `${call} changes ${changed.join(', ')}` });
    }
  }
  return verdicts;
}

/** The value at a dotted path (`aws_attributes.availability`), or undefined. */
export function at(config: Readonly<Record<string, unknown>> | undefined, path: string): unknown {
  let value: unknown = config;
  for (const key of path.split('.')) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

export interface Harm {
  readonly rule: HarmRule;
  readonly method: string;
  readonly path: string;
  readonly cluster_id: string;
  /** Simulated epoch ms of the call. */
  readonly at: number;
  readonly detail: string;
}

/** Where the call came from: the API request that made it. */
export interface CallOrigin {
  readonly method: string;
  readonly path: string;
}

export class HarmLedger {
  private entries: Harm[] = [];

  record(origin: CallOrigin, clusterId: string, time: number, verdicts: readonly Verdict[]): void {
    for (const verdict of verdicts) {
      this.entries.push({
        rule: verdict.rule,
        method: origin.method,
        path: origin.path,
        cluster_id: clusterId,
        at: time,
        detail: verdict.detail,
      });
    }
  }

  list(): Harm[] {
    return this.entries.map((harm) => ({ ...harm }));
  }

  clear(): void {
    this.entries = [];
  }
}
