/**
 * Cluster policies: a scenario declares policies as Databricks writes their definitions
 * (`{"node_type_id": {"type": "allowlist", "values": [...]}, "aws_attributes.availability":
 * {"type": "fixed", "value": "ON_DEMAND"}}`); an `edit`/`update` whose resulting configuration
 * breaks the policy named by its `policy_id` answers 400 `INVALID_PARAMETER_VALUE` naming the policy.
 * Only attributes the configuration sets are checked (a fixed value left out is filled in by
 * Databricks, not refused). `GET /api/2.0/policies/clusters/get` answers a policy as Databricks does:
 * its `definition` as a JSON document in a string; an unknown id is 404 `RESOURCE_DOES_NOT_EXIST`.
 */
import * as z from 'zod';
import { SimApiError } from './errors.ts';
import { at } from './harms.ts';

const Scalar = z.union([z.string(), z.number(), z.boolean()]);

const PolicyRuleSchema = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('fixed'), value: Scalar }),
  z.looseObject({ type: z.literal('allowlist'), values: z.array(Scalar).min(1) }),
  z.looseObject({ type: z.literal('blocklist'), values: z.array(Scalar).min(1) }),
  z.looseObject({ type: z.literal('forbidden') }),
  z.looseObject({ type: z.literal('regex'), pattern: z.string().min(1) }),
  z.looseObject({ type: z.literal('unlimited') }),
  z.looseObject({
    type: z.literal('range'),
    minValue: z.number().optional(),
    maxValue: z.number().optional(),
  }),
]);

export const PolicySeedSchema = z.strictObject({
  policy_id: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,100}$/, 'may contain only letters, digits, ".", "_" and "-"'),
  name: z.string().min(1).max(100).optional(),
  definition: z.record(z.string().min(1), PolicyRuleSchema),
});
export type PolicySeed = z.infer<typeof PolicySeedSchema>;
type PolicyRule = z.infer<typeof PolicyRuleSchema>;

/** Why the value breaks the rule, or undefined. */
function violation(rule: PolicyRule, value: unknown): string | undefined {
  switch (rule.type) {
    case 'fixed':
      return value === rule.value ? undefined : `the value must be ${String(rule.value)}`;
    case 'allowlist':
      return rule.values.includes(value as never)
        ? undefined
        : `the value must be one of [${rule.values.join(', ')}]`;
    case 'blocklist':
      return rule.values.includes(value as never)
        ? `the value must not be one of [${rule.values.join(', ')}]`
        : undefined;
    case 'forbidden':
      return 'the attribute is forbidden';
    case 'regex':
      // Databricks anchors the pattern at both ends.
      return typeof value === 'string' && new RegExp(`^(?:${rule.pattern})$`, 'u').test(value)
        ? undefined
        : `the value must match the regex ${rule.pattern}`;
    case 'range': {
      const n = typeof value === 'number' ? value : Number.NaN;
      const min = typeof rule.minValue === 'number' ? rule.minValue : -Infinity;
      const max = typeof rule.maxValue === 'number' ? rule.maxValue : Infinity;
      return n >= min && n <= max ? undefined : `the value must be between ${min} and ${max}`;
    }
    case 'unlimited':
      return undefined;
  }
}

export class Policies {
  private readonly policies = new Map<string, PolicySeed>();
  private readonly created = new Map<string, number>();

  clear(): void {
    this.policies.clear();
    this.created.clear();
  }

  add(seed: PolicySeed, now: number): void {
    this.policies.set(seed.policy_id, seed);
    if (!this.created.has(seed.policy_id)) this.created.set(seed.policy_id, now);
  }

  /** `policies/clusters/get`: the policy with its definition as a JSON string. */
  get(policyId: string | undefined): Record<string, unknown> {
    if (policyId === undefined || policyId === '') {
      throw new SimApiError(400, 'INVALID_PARAMETER_VALUE', 'Missing required field: policy_id');
    }
    const policy = this.policies.get(policyId);
    if (policy === undefined) {
      throw new SimApiError(
        404,
        'RESOURCE_DOES_NOT_EXIST',
        `Can't find a cluster policy with id: ${policyId}.`,
      );
    }
    return {
      policy_id: policy.policy_id,
      name: policy.name ?? policy.policy_id,
      definition: JSON.stringify(policy.definition),
      created_at_timestamp: this.created.get(policy.policy_id),
      creator_user_name: 'admin@example.com',
      is_default: false,
    };
  }

  /** The message of the first attribute the configuration's policy refuses, or undefined. */
  check(config: Readonly<Record<string, unknown>>): string | undefined {
    const id = config.policy_id;
    if (typeof id !== 'string') return undefined;
    const policy = this.policies.get(id);
    if (policy === undefined) return undefined;
    for (const [path, rule] of Object.entries(policy.definition)) {
      const value = at(config, path);
      if (value === undefined) continue;
      const why = violation(rule, value);
      if (why !== undefined) {
        return `Validation failed for ${path}, ${why} (is ${JSON.stringify(value)}); cluster policy ${policy.name ?? id} (${id})`;
      }
    }
    return undefined;
  }
}
