/**
 * Playbooks: per error type, what the automation does and within which bounds. The defaults are a
 * typed table; overrides come from configuration (a JSON file, an environment variable or CDK props)
 * and are validated at start-up with errors that name the bad key.
 */

import { ACTIONS, type Action, ERROR_TYPES, type ErrorType } from './error-types.ts';
import { ConfigurationError } from './errors.ts';
import * as z from './zod.ts';

export interface Backoff {
  /** Delay before the first retry. */
  readonly initial_seconds: number;
  readonly multiplier: number;
  /** Cap of a single delay. */
  readonly max_seconds: number;
}

/** Knob names are the seed's (`timeout_seconds`, `health_check_timeout`), snake_case throughout. */
export interface Playbook {
  readonly action: Action;
  /** Bound on the whole recovery, every attempt included. */
  readonly timeout_seconds: number;
  /** How long one health check may wait for the cluster to be RUNNING with a healthy driver. */
  readonly health_check_timeout: number;
  /** Pause between two health-check polls. */
  readonly health_check_interval_seconds: number;
  /** Attempts of the action before escalating (1 = no retry). */
  readonly max_attempts: number;
  readonly backoff: Backoff;
  /** A disabled playbook tickets and escalates but changes nothing. */
  readonly enabled: boolean;
  /** `shadow`: record what would have been done and change nothing. */
  readonly mode: 'active' | 'shadow';
  /** Alternative node types, in order, for `restart_with_different_instance_type`. */
  readonly fallback_node_types: readonly string[];
  /**
   * Alternative instance pools, in order, for a pool cluster short of capacity: a pool cluster never
   * gets another node type (Databricks refuses it); without an alternative, the pool is retried
   * after a back-off.
   */
  readonly fallback_instance_pool_ids?: readonly string[];
  /** Repair a failed job run on an all-purpose cluster once the cluster is healthy again. @default true */
  readonly repair_failed_run?: boolean;
  /** Put the original node type or availability back once the cluster is healthy again. */
  readonly restore_original_config: boolean;
  /**
   * Wait before the next launch call (start, restart, update, resize) after Databricks refused one
   * with `REQUEST_LIMIT_EXCEEDED`. Node launches are limited by a token bucket per workspace that
   * refills over minutes (api-facts §6.2: "retry a few minutes later"): the client's seconds of retries only drain it again.
   */
  readonly launch_throttle_backoff: Backoff;
  /**
   * `required`: the ticket waits `awaiting_approval` until an operator runs `rca approve` (or `rca
   * deny`). @default required for `rollback_config` and for a node-type or pool fallback, off otherwise
   * (see `approvalRequired`)
   */
  readonly approval?: 'required' | 'off';
  /** Seconds an approval may wait before the ticket escalates. @default 3600 */
  readonly approval_timeout?: number;
}

export type PlaybookTable = Readonly<Record<ErrorType, Playbook>>;

const backoff = (initial_seconds: number, max_seconds: number, multiplier = 2): Backoff => ({
  initial_seconds,
  multiplier,
  max_seconds,
});

// Starts of real clusters take 3–10 minutes: health checks wait up to 15 minutes by default.
const base: Omit<Playbook, 'action'> = {
  timeout_seconds: 2700,
  health_check_timeout: 900,
  health_check_interval_seconds: 30,
  max_attempts: 3,
  backoff: backoff(60, 600),
  enabled: true,
  mode: 'active',
  fallback_node_types: [],
  fallback_instance_pool_ids: [],
  repair_failed_run: true,
  restore_original_config: true,
  launch_throttle_backoff: backoff(180, 900),
};

const escalateOnly: Playbook = { ...base, action: 'escalate', max_attempts: 1 };

export const DEFAULT_PLAYBOOKS: PlaybookTable = {
  DatabricksDriverNotResponding: { ...base, action: 'restart_cluster' },
  DatabricksClusterTerminated: { ...base, action: 'restart_cluster' },
  DatabricksClusterStartFailure: { ...base, action: 'restart_cluster' },
  DatabricksResourceExhausted: {
    ...base,
    action: 'restart_with_different_instance_type',
    backoff: backoff(120, 900),
  },
  DatabricksSpotInstanceLost: { ...base, action: 'restart_with_on_demand' },
  DatabricksConfigurationError: { ...base, action: 'rollback_config', max_attempts: 1 },
  DatabricksDriverOutOfMemory: { ...base, action: 'restart_cluster', max_attempts: 1 },
  DatabricksOutOfDisk: escalateOnly,
  DatabricksCloudQuotaExceeded: escalateOnly,
  DatabricksCloudThrottled: { ...base, action: 'retry_with_backoff', backoff: backoff(300, 1800) },
  DatabricksInitScriptFailure: escalateOnly,
  DatabricksLibraryInstallFailure: escalateOnly,
  DatabricksNetworkFailure: {
    ...base,
    action: 'restart_cluster',
    max_attempts: 2,
    backoff: backoff(120, 600),
  },
  DatabricksNetworkMisconfiguration: escalateOnly,
  DatabricksImageFailure: escalateOnly,
  DatabricksCloudPermissionError: escalateOnly,
  DatabricksWorkspaceStateError: escalateOnly,
  DatabricksServiceFault: { ...base, action: 'retry_with_backoff', backoff: backoff(120, 900) },
  // Instances return to the pool as its other clusters stop; another node type cannot help a pool.
  DatabricksInstancePoolExhausted: { ...base, action: 'retry_with_backoff', backoff: backoff(300, 900) },
  // Every cluster of the workspace stopped at once: restarting them all together would stampede the
  // workspace. A person decides (outage correlation comes later), so no automatic start by default.
  DatabricksWorkspaceMaintenance: escalateOnly,
  DatabricksJobFailure: escalateOnly,
  DatabricksUnclassifiedFailure: escalateOnly,
};

/** Actions that try the same thing again; never allowed for failures a retry cannot fix. */
export const RETRYING_ACTIONS: ReadonlySet<Action> = new Set([
  'restart_cluster',
  'restart_with_different_instance_type',
  'restart_with_on_demand',
  'retry_with_backoff',
  'repair_run',
]);

/** Types whose cause is configuration or policy: a retry cannot help, so no override may make them retry. */
export const NEVER_RETRY: ReadonlySet<ErrorType> = new Set([
  'DatabricksConfigurationError',
  'DatabricksNetworkMisconfiguration',
  'DatabricksCloudPermissionError',
  'DatabricksWorkspaceStateError',
  'DatabricksInitScriptFailure',
]);

const positiveInt = (max: number) => z.number().check(z.int(), z.positive(), z.lte(max));

const BackoffOverrideSchema = z.strictObject({
  initial_seconds: z.optional(positiveInt(86_400)),
  multiplier: z.optional(z.number().check(z.gte(1), z.lte(10))),
  max_seconds: z.optional(positiveInt(86_400)),
});

const PlaybookOverrideSchema = z.strictObject({
  action: z.optional(z.enum(ACTIONS)),
  timeout_seconds: z.optional(positiveInt(86_400)),
  health_check_timeout: z.optional(positiveInt(86_400)),
  health_check_interval_seconds: z.optional(positiveInt(3600)),
  max_attempts: z.optional(positiveInt(20)),
  backoff: z.optional(BackoffOverrideSchema),
  enabled: z.optional(z.boolean()),
  mode: z.optional(z.enum(['active', 'shadow'])),
  fallback_node_types: z.optional(
    z.array(z.string().check(z.trim(), z.minLength(1), z.maxLength(100))).check(z.maxLength(10)),
  ),
  fallback_instance_pool_ids: z.optional(
    z.array(z.string().check(z.trim(), z.minLength(1), z.maxLength(100))).check(z.maxLength(10)),
  ),
  repair_failed_run: z.optional(z.boolean()),
  restore_original_config: z.optional(z.boolean()),
  launch_throttle_backoff: z.optional(BackoffOverrideSchema),
  approval: z.optional(z.enum(['required', 'off'])),
  approval_timeout: z.optional(positiveInt(7 * 86_400)),
});
export type PlaybookOverride = z.infer<typeof PlaybookOverrideSchema>;

const OverridesSchema = z.record(z.string(), z.unknown());

/**
 * Merges validated overrides onto the defaults. Throws a ConfigurationError naming every bad key,
 * e.g. `DatabricksClusterTerminated.timeout_seconds: Too small: expected number to be >0`.
 */
export function loadPlaybooks(
  overrides: unknown = {},
  defaults: PlaybookTable = DEFAULT_PLAYBOOKS,
): PlaybookTable {
  const top = OverridesSchema.safeParse(overrides ?? {});
  if (!top.success) throw new ConfigurationError('playbook overrides must be an object keyed by error type');
  const problems: string[] = [];
  const merged: Record<string, Playbook> = { ...defaults };
  for (const [errorType, raw] of Object.entries(top.data)) {
    if (!(ERROR_TYPES as readonly string[]).includes(errorType)) {
      problems.push(`${errorType}: unknown error type (known: ${ERROR_TYPES.join(', ')})`);
      continue;
    }
    const parsed = PlaybookOverrideSchema.safeParse(raw);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const path = [errorType, ...issue.path.map(String)].join('.');
        problems.push(`${path}: ${issue.message}`);
      }
      continue;
    }
    const current = defaults[errorType as ErrorType];
    const { backoff: backoffOverride, launch_throttle_backoff: throttleOverride, ...rest } = parsed.data;
    const next: Playbook = {
      ...current,
      ...definedOnly(rest),
      backoff: { ...current.backoff, ...definedOnly(backoffOverride ?? {}) },
      launch_throttle_backoff: {
        ...current.launch_throttle_backoff,
        ...definedOnly(throttleOverride ?? {}),
      },
    };
    problems.push(...checkPlaybook(errorType as ErrorType, next));
    merged[errorType] = next;
  }
  if (problems.length > 0) {
    throw new ConfigurationError(`invalid playbook configuration:\n  ${problems.join('\n  ')}`);
  }
  return merged as PlaybookTable;
}

function checkPlaybook(errorType: ErrorType, playbook: Playbook): string[] {
  const problems: string[] = [];
  if (playbook.health_check_timeout > playbook.timeout_seconds) {
    problems.push(
      `${errorType}.health_check_timeout: must not exceed timeout_seconds (${playbook.timeout_seconds})`,
    );
  }
  for (const key of ['backoff', 'launch_throttle_backoff'] as const) {
    if (playbook[key].initial_seconds > playbook[key].max_seconds) {
      problems.push(`${errorType}.${key}.initial_seconds: must not exceed ${key}.max_seconds`);
    }
  }
  if (NEVER_RETRY.has(errorType) && RETRYING_ACTIONS.has(playbook.action)) {
    problems.push(
      `${errorType}.action: '${playbook.action}' retries, and a retry cannot fix this error type`,
    );
  }
  return problems;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Delay before attempt `attempt` (2 = the first retry), capped. */
export function backoffSeconds(playbook: Playbook, attempt: number): number {
  return delaySeconds(playbook.backoff, attempt - 1);
}

/**
 * Delay before launch call number `refusals + 1` after `refusals` consecutive `REQUEST_LIMIT_EXCEEDED`
 * refusals of start/restart/update/resize (1 = the first refusal): minutes, not the client's seconds.
 */
export function launchThrottleSeconds(playbook: Playbook, refusals: number): number {
  return delaySeconds(playbook.launch_throttle_backoff, refusals);
}

/** `n`-th delay (1 = the first) of a capped exponential back-off. */
function delaySeconds(backoff: Backoff, n: number): number {
  const delay = backoff.initial_seconds * backoff.multiplier ** Math.max(0, n - 1);
  return Math.min(delay, backoff.max_seconds);
}
