/**
 * What the remediation planner decides (`Decision`) and what it decides from (`PlanContext`); `plan.ts`
 * and its fallbacks share them.
 */
import type { ClusterPolicy } from '../core/cluster-policy.ts';
import type { ClusterDetails, ClusterEvent } from '../core/schemas/databricks.ts';
import type { ConfigChange, OriginalConfig, RecoveryInput, RecoveryState } from './model.ts';

/**
 * A configuration change: `clusters/update` of exactly `fields` (never `clusters/edit`, which
 * replaces the whole spec), then a start when the cluster is TERMINATED.
 */
export interface ConfigDecision extends PolicyNote {
  /** fallback: another node type / pool / on-demand; rollback: undo a bad edit; reapply: the fallback again (older executions). */
  readonly kind: 'fallback' | 'rollback' | 'reapply';
  readonly description: string;
  /** The `update_mask`; a field absent from `values` is removed. */
  readonly fields: readonly string[];
  readonly values: Readonly<Record<string, unknown>>;
  /** Fallbacks: the configuration before any fallback of this recovery, for the restore. */
  readonly original?: OriginalConfig;
  /** The cluster has these values already (an earlier try of this step made the change): only start it. */
  readonly applied?: boolean;
}

/** A fallback the cluster's policy forbids: not attempted. */
export interface SkippedFallback {
  /** The change that was not made. */
  readonly values: Readonly<Record<string, unknown>>;
  readonly why: string;
}

/** The fallbacks skipped on the way to the decision, for the audit trail. */
interface PolicyNote {
  readonly skippedByPolicy?: readonly SkippedFallback[];
}

export type Decision =
  | { readonly kind: 'escalate'; readonly reason: string; readonly evidence?: Record<string, unknown> }
  | { readonly kind: 'delay'; readonly seconds: number; readonly description: string }
  /** Back off once (the first attempt), then decide again: a drained pool, a throttle. */
  | ({ readonly kind: 'backoff'; readonly description: string } & PolicyNote)
  | ({ readonly kind: 'start' | 'restart'; readonly description: string } & PolicyNote)
  | ConfigDecision
  | { readonly kind: 'wait' | 'none'; readonly description: string }
  | { readonly kind: 'repair_run' };

export interface PlanContext {
  readonly input: RecoveryInput;
  readonly state: Pick<
    RecoveryState,
    | 'attempt'
    | 'lastFailure'
    | 'failedNodeTypes'
    | 'rolledBack'
    | 'original'
    | 'restore'
    | 'fallback'
    | 'backedOff'
    | 'refused'
  >;
  readonly cluster: ClusterDetails;
  /**
   * The latest `EDITED`/`RUNNING` events, newest first, when the action needs the edit history
   * (`rollback_config`); undefined when it was not looked up.
   */
  readonly editHistory?: readonly ClusterEvent[];
  /** The configuration changes this recovery recorded so far, oldest first (`CONFIG_CHANGE_EVENT`). */
  readonly changes?: readonly ConfigChange[];
  /** Seconds to wait for a TERMINATING cluster before deciding again. */
  readonly pollSeconds: number;
  /** Now (epoch ms), for how recent an edit is. */
  readonly now?: number;
  /** The cluster's policy, when `needsPolicy` asked for it and it could be read. */
  readonly policy?: ClusterPolicy;
}
