/**
 * What a cluster policy allows, judged before a fallback is attempted: Databricks refuses (400
 * `INVALID_PARAMETER_VALUE`, "Validation failed for node_type_id, …") an update its policy forbids, so
 * a fallback the policy forbids is never sent. Pure: the workflow reads the policy
 * (`GET /api/2.0/policies/clusters/get`, whose `definition` is a JSON document in a string).
 *
 * | rule (Databricks' policy definition language) | a value is allowed when                     |
 * |-----------------------------------------------|---------------------------------------------|
 * | `fixed` `value`                               | it equals `value`                           |
 * | `forbidden`                                   | never (the attribute may not be set)        |
 * | `allowlist` `values`                          | it is one of `values`                       |
 * | `blocklist` `values`                          | it is none of `values`                      |
 * | `regex` `pattern`                             | it is a string the pattern matches whole (Databricks anchors it at both ends) |
 * | `range` `minValue` / `maxValue`               | it is a number within the bounds given      |
 * | `unlimited`                                   | always                                      |
 * | another type, or a rule that cannot be read   | always: Databricks decides, and a refusal is recorded as refused |
 *
 * Only the attributes a change sets are judged (their paths, dotted for nested attributes; a `*`
 * segment of a rule's path matches any one segment). A policy that no longer exists forbids every
 * change: Databricks lets its clusters run but refuses to edit them.
 */
import * as z from './zod.ts';

const Scalar = z.union([z.string(), z.number(), z.boolean()]);

const RuleSchema = z.looseObject({
  type: z.string(),
  value: z.optional(Scalar),
  values: z.optional(z.array(Scalar)),
  pattern: z.optional(z.string()),
  minValue: z.optional(z.number()),
  maxValue: z.optional(z.number()),
});
type Rule = z.infer<typeof RuleSchema>;

/** Rules by attribute path, as the policy's definition states them. */
export type PolicyDefinition = Readonly<Record<string, Rule>>;

/** A cluster's policy as the workflow read it. */
export type ClusterPolicy =
  | {
      readonly policyId: string;
      readonly name?: string;
      readonly definition: PolicyDefinition;
    }
  /** Deleted since the cluster was created: Databricks refuses every edit of its clusters. */
  | { readonly policyId: string; readonly gone: true };

/** One attribute of a change the policy forbids. */
export interface PolicyViolation {
  readonly path: string;
  readonly value: unknown;
  readonly why: string;
}

const DefinitionSchema = z.record(z.string(), z.unknown());

/**
 * The rules of a policy's `definition` (and of its `policy_family_definition_overrides`, which win),
 * or undefined when the definition is not a JSON object. Rules that cannot be read are left out.
 */
export function parsePolicyDefinition(
  definition: string | undefined,
  overrides?: string,
): PolicyDefinition | undefined {
  const base = parseObject(definition ?? '{}');
  const extra = overrides === undefined || overrides === '' ? {} : parseObject(overrides);
  if (base === undefined || extra === undefined) return undefined;
  const rules: Record<string, Rule> = {};
  for (const [path, raw] of Object.entries({ ...base, ...extra })) {
    const rule = RuleSchema.safeParse(raw);
    if (rule.success) rules[path] = rule.data;
  }
  return rules;
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const parsed = DefinitionSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Why the rule forbids the value, or undefined when it allows it. */
export function ruleViolation(rule: Rule, value: unknown): string | undefined {
  switch (rule.type) {
    case 'fixed':
      return rule.value === undefined || value === rule.value
        ? undefined
        : `the policy fixes it to ${JSON.stringify(rule.value)}`;
    case 'forbidden':
      return 'the policy forbids setting it';
    case 'allowlist':
      return rule.values === undefined || rule.values.includes(value as never)
        ? undefined
        : `the policy allows only ${list(rule.values)}`;
    case 'blocklist':
      return rule.values?.includes(value as never) === true
        ? `the policy blocks ${list(rule.values ?? [])}`
        : undefined;
    case 'regex':
      return rule.pattern === undefined || matchesWhole(rule.pattern, value)
        ? undefined
        : `the policy requires a value matching ${JSON.stringify(rule.pattern)}`;
    case 'range': {
      if (typeof value !== 'number') return 'the policy requires a number';
      const below = rule.minValue !== undefined && value < rule.minValue;
      const above = rule.maxValue !== undefined && value > rule.maxValue;
      return below || above
        ? `the policy requires a value within [${rule.minValue ?? '-∞'}, ${rule.maxValue ?? '∞'}]`
        : undefined;
    }
    default:
      return undefined;
  }
}

function list(values: readonly unknown[]): string {
  return `[${values.map((value) => JSON.stringify(value)).join(', ')}]`;
}

function matchesWhole(pattern: string, value: unknown): boolean {
  if (typeof value !== 'string') return false;
  let regex: RegExp;
  try {
    regex = new RegExp(`^(?:${pattern})$`, 'u');
  } catch {
    // A pattern JavaScript cannot read (Java syntax): Databricks decides.
    return true;
  }
  return regex.test(value);
}

/**
 * The attributes of `values` (a `clusters/update` body: top-level fields, nested objects) the policy
 * forbids, first in the order of `values`.
 */
export function policyViolations(
  policy: ClusterPolicy,
  values: Readonly<Record<string, unknown>>,
): PolicyViolation[] {
  const leaves = flatten(values);
  if ('gone' in policy) {
    return leaves.map(([path, value]) => ({
      path,
      value,
      why: `cluster policy ${policy.policyId} no longer exists, and Databricks refuses to edit the clusters it governed`,
    }));
  }
  const rules = Object.entries(policy.definition);
  const named = policy.name === undefined ? policy.policyId : `${policy.name} (${policy.policyId})`;
  return leaves.flatMap(([path, value]) => {
    for (const [rulePath, rule] of rules) {
      if (!pathMatches(rulePath, path)) continue;
      const why = ruleViolation(rule, value);
      if (why !== undefined) return [{ path, value, why: `${why} (cluster policy ${named})` }];
    }
    return [];
  });
}

/** [dotted path, value] of every scalar in `values`; a null or empty object is one leaf. */
function flatten(values: Readonly<Record<string, unknown>>, prefix = ''): [string, unknown][] {
  return Object.entries(values).flatMap(([key, value]): [string, unknown][] => {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    if (value !== null && typeof value === 'object') {
      const inner = flatten(value as Record<string, unknown>, path);
      return inner.length === 0 ? [[path, value]] : inner;
    }
    return [[path, value]];
  });
}

function pathMatches(rulePath: string, path: string): boolean {
  const rule = rulePath.split('.');
  const actual = path.split('.');
  return (
    rule.length === actual.length && rule.every((segment, i) => segment === '*' || segment === actual[i])
  );
}
