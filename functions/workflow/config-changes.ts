/**
 * The configuration changes a recovery made, as its audit trail records them. Every change is
 * recorded BEFORE it is sent, and read back before deciding: Step Functions re-runs a task with the
 * same input after a throw or a Lambda timeout, and a retry must finish that change instead of
 * deciding afresh on a cluster it already changed. A change Databricks refused is recorded as
 * refused, never as made, and its values are never tried again.
 */
import * as z from '../core/zod.ts';
import { mergeOriginal } from './cluster-config.ts';
import type { ConfigDecision } from './decision.ts';
import type { WorkflowDeps } from './deps.ts';
import {
  CONFIG_CHANGE_EVENT,
  type ConfigChange,
  ConfigChangeSchema,
  type OriginalConfig,
  type RecoveryState,
} from './model.ts';
import { audit } from './support.ts';

/** The audit event of a configuration change Databricks refused. */
export const CONFIG_REFUSED_EVENT = 'config_change_refused';

export function refusedValues(
  change: Pick<ConfigChange, 'fields' | 'values'>,
): { field: string; value: unknown }[] {
  return change.fields.map((field) => ({ field, value: change.values[field] ?? null }));
}

/**
 * The configuration changes recorded in the ticket's audit trail and not refused, oldest first, and
 * the values Databricks refused.
 */
export async function recordedChanges(
  ticketId: string,
  deps: WorkflowDeps,
): Promise<{ readonly made: ConfigChange[]; readonly refused: { field: string; value: unknown }[] }> {
  const found = await deps.tickets.getTicket(ticketId);
  const entries = found?.audit ?? [];
  const refusals = entries.flatMap((entry) => {
    if (entry.event !== CONFIG_REFUSED_EVENT) return [];
    const change = z.partial(ConfigChangeSchema, { description: true }).safeParse(entry.details);
    return change.success ? [change.data] : [];
  });
  const key = (change: { attempt: number; fields: readonly string[]; values: unknown }) =>
    JSON.stringify([change.attempt, change.fields, change.values]);
  const refusedKeys = new Set(refusals.map(key));
  const made = entries.flatMap((entry) => {
    if (entry.event !== CONFIG_CHANGE_EVENT) return [];
    const change = ConfigChangeSchema.safeParse(entry.details);
    return change.success && !refusedKeys.has(key(change.data)) ? [change.data as ConfigChange] : [];
  });
  return { made, refused: refusals.flatMap((change) => refusedValues(change)) };
}

/** The state as the recorded changes say it is: the original configuration, and whether we rolled back. */
export function withRecordedChanges(
  state: RecoveryState,
  changes: readonly ConfigChange[],
  refusals: readonly { field: string; value: unknown }[] = [],
): RecoveryState {
  let original: OriginalConfig | undefined;
  for (const change of changes) {
    if (change.original !== undefined) original = mergeOriginal(original, change.original);
  }
  if (state.original !== undefined) original = mergeOriginal(original, state.original);
  const rolledBack = state.rolledBack === true || changes.some((change) => change.kind === 'rollback');
  const refused = [...(state.refused ?? []), ...refusals];
  return {
    ...state,
    ...(refused.length === 0 ? {} : { refused }),
    ...(original === undefined ? {} : { original }),
    ...(rolledBack ? { rolledBack } : {}),
  };
}

/** Records a configuration change before it is made (see the file header). */
export async function recordChange(
  state: RecoveryState,
  decision: ConfigDecision,
  deps: WorkflowDeps,
): Promise<void> {
  const change: ConfigChange = {
    kind: decision.kind,
    attempt: state.attempt,
    fields: [...decision.fields],
    values: decision.values,
    ...(decision.original === undefined ? {} : { original: decision.original }),
    description: decision.description,
  };
  await audit(deps, state, CONFIG_CHANGE_EVENT, { ...change });
}
