/**
 * Fleet safety: the recovery statuses of tickets the automation holds back on purpose, and the
 * blast-radius cap's configuration (how many recoveries of one workspace may change clusters at the
 * same time). The cap itself is a lease in DynamoDB (`store/recovery-cap.ts`).
 */

import { ConfigurationError, describeIssues } from './errors.ts';
import type { Playbook } from './playbooks.ts';
import * as z from './zod.ts';

/** An open ticket waiting for a slot of its workspace's blast-radius cap. */
export const QUEUED = 'queued';
/** An open ticket whose recovery waits for an operator's `rca approve` (or `rca deny`). */
export const AWAITING_APPROVAL = 'awaiting_approval';
/** A ticket an operator denied: closed, nothing was changed. */
export const DENIED = 'denied';
/** An approval nobody gave within the playbook's `approval_timeout`: escalated, nothing was changed. */
export const APPROVAL_TIMED_OUT = 'approval_timed_out';

/** At most this many recoveries per workspace change clusters at the same time, unless configured. */
export const DEFAULT_RECOVERY_CAP = 5;

/**
 * `RECOVERY_CAP` (CDK context `recoveryCap`): `{ "default": 5, "workspaces": { "prod": 10 } }`. A
 * workspace not named gets `default`.
 */
export const RecoveryCapConfigSchema = z.strictObject({
  default: z._default(z.number().check(z.int(), z.gte(1), z.lte(1000)), DEFAULT_RECOVERY_CAP),
  workspaces: z._default(
    z.record(
      z.string().check(z.minLength(1), z.maxLength(64)),
      z.number().check(z.int(), z.gte(1), z.lte(1000)),
    ),
    {},
  ),
});
export type RecoveryCapConfig = z.infer<typeof RecoveryCapConfigSchema>;

/** Parses `RECOVERY_CAP` (JSON; absent or empty: the defaults); a bad value names the key. */
export function parseRecoveryCap(raw: string | undefined): RecoveryCapConfig {
  let value: unknown = {};
  if (raw !== undefined && raw.trim() !== '') {
    try {
      value = JSON.parse(raw);
    } catch {
      throw new ConfigurationError('RECOVERY_CAP must be JSON: {"default": 5, "workspaces": {"prod": 10}}');
    }
  }
  const parsed = RecoveryCapConfigSchema.safeParse(value);
  if (!parsed.success)
    throw new ConfigurationError(`RECOVERY_CAP: ${describeIssues(parsed.error).join('; ')}`);
  return parsed.data;
}

/** The cap of one workspace. */
export function capOf(config: RecoveryCapConfig, workspaceId: string): number {
  return config.workspaces[workspaceId] ?? config.default;
}

/**
 * How long a slot is held at most before anyone may reclaim it: the recovery's own bound
 * (`timeout_seconds`) plus one health check and a quarter of an hour. An execution that crashed, was
 * stopped or timed out gives its slot back sooner: the reconciler reclaims it from the execution's
 * status.
 */
export function leaseSecondsFor(
  playbook: Pick<Playbook, 'timeout_seconds' | 'health_check_timeout'>,
): number {
  return playbook.timeout_seconds + playbook.health_check_timeout + 900;
}

/** Approval: `required` waits for `rca approve`; `off` starts at once. */
export type ApprovalMode = 'required' | 'off';

/** One hour for an operator to approve, unless the playbook says otherwise. */
export const DEFAULT_APPROVAL_TIMEOUT_SECONDS = 3600;

/**
 * Whether a recovery with this playbook waits for an operator. Default: required for a configuration
 * rollback and for a node-type (or pool) fallback — risky changes — and off for plain restarts.
 */
export function approvalRequired(
  playbook: Pick<
    Playbook,
    'action' | 'fallback_node_types' | 'fallback_instance_pool_ids' | 'approval' | 'mode'
  >,
): boolean {
  // Shadow mode changes nothing: there is nothing to approve.
  if (playbook.mode === 'shadow') return false;
  if (playbook.approval !== undefined) return playbook.approval === 'required';
  if (playbook.action === 'rollback_config') return true;
  return (
    playbook.action === 'restart_with_different_instance_type' &&
    (playbook.fallback_node_types.length > 0 || (playbook.fallback_instance_pool_ids ?? []).length > 0)
  );
}

/** A slot of a workspace's blast-radius cap, held by one recovery (`functions/store/recovery-cap.ts`). */
export interface Slot {
  readonly ticketId: string;
  readonly executionName: string;
  /** Epoch ms. */
  readonly acquiredAt: number;
  /** Epoch ms: after this anyone may reclaim the slot. */
  readonly expiresAt: number;
}

export interface Lease {
  readonly workspaceId: string;
  readonly active: number;
  readonly slots: readonly Slot[];
}

/** What asking for a slot needs: the workspace's cap and how long the slot may be held at most. */
export interface SlotRequest {
  readonly workspaceId: string;
  readonly cap: number;
  readonly leaseSeconds: number;
}
