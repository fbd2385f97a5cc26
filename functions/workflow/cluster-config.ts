/**
 * A cluster's configuration as the remediation reads and changes it (pure): the values of some fields
 * as the user configured them, whether the cluster has them, the original values across several
 * fallbacks, and the evidence a human needs when it is escalated.
 */
import type { ClusterDetails, ClusterEvent } from '../core/schemas/databricks.ts';
import type { OriginalConfig } from './model.ts';

/** Whether the cluster's configuration has exactly `values` in `fields` (a field absent from `values`: unset). */
export function hasValues(
  cluster: ClusterDetails,
  config: { readonly fields: readonly string[]; readonly values: Readonly<Record<string, unknown>> },
): boolean {
  const current = originalOf(cluster, config.fields).values;
  return config.fields.every((field) => sameValue(current[field], config.values[field]));
}

/** Deep equality of JSON values, whatever the order of object keys. */
export function sameValue(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function canonical(value: unknown): string | undefined {
  return JSON.stringify(value, (_key, inner: unknown) =>
    inner !== null && typeof inner === 'object' && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)))
      : inner,
  );
}

/** The values of `fields` as the user configured them (`spec`, else the cluster itself). */
export function originalOf(cluster: ClusterDetails, fields: readonly string[]): OriginalConfig {
  const source = (cluster.spec ?? cluster) as Record<string, unknown>;
  const values: Record<string, unknown> = {};
  for (const field of fields) {
    const value = source[field] ?? (cluster as Record<string, unknown>)[field];
    if (value !== undefined) values[field] = value;
  }
  return { fields: [...fields], values };
}

/** Both configurations' fields; for a field in both, the earlier value (the original one). */
export function mergeOriginal(earlier: OriginalConfig | undefined, now: OriginalConfig): OriginalConfig {
  if (earlier === undefined) return now;
  const fields = [...new Set([...earlier.fields, ...now.fields])];
  // The earliest value of a field is the original one.
  return { fields, values: { ...now.values, ...earlier.values } };
}

/** What a human needs to see about a cluster that is escalated. */
export function evidenceOf(
  cluster: ClusterDetails,
  events: readonly ClusterEvent[] = [],
): Record<string, unknown> {
  const initScripts = events.find((event) => event.type === 'INIT_SCRIPTS_FINISHED')?.details?.init_scripts;
  return {
    cluster_id: cluster.cluster_id,
    ...(cluster.cluster_name === undefined ? {} : { cluster_name: cluster.cluster_name }),
    state: cluster.state,
    ...(cluster.state_message ? { state_message: cluster.state_message } : {}),
    ...(cluster.termination_reason === undefined ? {} : { termination_reason: cluster.termination_reason }),
    ...(initScripts === undefined ? {} : { init_scripts: initScripts }),
  };
}

/** `field=value, …` for people: the audit trail and notifications. */
export function configText(config: {
  readonly fields: readonly string[];
  readonly values: Readonly<Record<string, unknown>>;
}): string {
  return config.fields.map((field) => `${field}=${JSON.stringify(config.values[field] ?? null)}`).join(', ');
}
