import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  type ClusterPolicy,
  parsePolicyDefinition,
  policyViolations,
  ruleViolation,
} from '../../functions/core/cluster-policy.ts';
import { ClusterPolicySchema } from '../../functions/core/schemas/databricks.ts';

const POLICIES = JSON.parse(
  readFileSync(new URL('../fixtures/core/cluster-policies.json', import.meta.url), 'utf8'),
) as Record<string, unknown>;

/** A fixture policy as the workflow reads it from `policies/clusters/get`. */
function policy(name: string): ClusterPolicy {
  const found = ClusterPolicySchema.parse(POLICIES[name]);
  const definition = parsePolicyDefinition(found.definition, found.policy_family_definition_overrides);
  if (definition === undefined) throw new Error(`fixture ${name} has no definition`);
  return { policyId: found.policy_id, definition };
}

describe('cluster policies', () => {
  it.each([
    ['allowlist', 'r5.4xlarge', true],
    ['allowlist', 'm5.4xlarge', false],
    ['blocklist', 'r5.4xlarge', true],
    ['blocklist', 'm5.4xlarge', false],
    ['regex', 'r5.4xlarge', true],
    ['regex', 'm5.4xlarge', false],
    // The pattern is anchored at both ends: a match inside the value is not enough.
    ['regex', 'xm5.4xlarge', true],
    ['regex', 'm5.4xlarge-gpu', true],
    ['fixed', 'm5.4xlarge', true],
    ['fixed', 'r5d.4xlarge', false],
    // The family's overrides win over its definition.
    ['family', 'r5.4xlarge', true],
    ['family', 'm5.4xlarge', false],
  ])('judges node_type_id under the %s policy: %s forbidden = %s', (name, nodeType, forbidden) => {
    // Act
    const violations = policyViolations(policy(name), { node_type_id: nodeType });

    // Assess
    expect(violations.length > 0).toBe(forbidden);
  });

  it.each([
    [{ type: 'range', minValue: 1, maxValue: 8 }, 8, undefined],
    [{ type: 'range', minValue: 1, maxValue: 8 }, 9, 'the policy requires a value within [1, 8]'],
    [{ type: 'range', maxValue: 8 }, 0, undefined],
    [{ type: 'range', minValue: 1 }, '2', 'the policy requires a number'],
    [{ type: 'forbidden' }, 'pool-1', 'the policy forbids setting it'],
    [{ type: 'unlimited', defaultValue: 4320 }, 10, undefined],
    [{ type: 'regex', pattern: 'm5\\..*' }, 5, 'the policy requires a value matching "m5\\\\..*"'],
    [{ type: 'fixed', value: true }, false, 'the policy fixes it to true'],
    // A rule type this code does not know: Databricks decides (and a refusal is recorded as refused).
    [{ type: 'someday' }, 'anything', undefined],
    [{ type: 'fixed' }, 'anything', undefined],
    [{ type: 'fixed', value: 60 }, 60, undefined],
    [{ type: 'allowlist' }, 'anything', undefined],
    [{ type: 'allowlist', values: ['a', 'b'] }, 'c', 'the policy allows only ["a", "b"]'],
    [{ type: 'blocklist' }, 'anything', undefined],
    [{ type: 'blocklist', values: ['a', 'b'] }, 'b', 'the policy blocks ["a", "b"]'],
    [{ type: 'blocklist', values: ['a', 'b'] }, 'c', undefined],
    [{ type: 'regex' }, 'anything', undefined],
    [{ type: 'regex', pattern: '[0-9]+' }, 5, 'the policy requires a value matching "[0-9]+"'],
    // Unicode property escapes: read with the `u` flag, as Databricks (Java) reads them.
    [{ type: 'regex', pattern: '\\p{L}+' }, 'abc', undefined],
    // A pattern JavaScript cannot read (Java's possessive quantifier): Databricks decides.
    [{ type: 'regex', pattern: 'a++' }, 'b', undefined],
    [{ type: 'range', minValue: 1, maxValue: 8 }, 1, undefined],
    [{ type: 'range', minValue: 1, maxValue: 8 }, 0, 'the policy requires a value within [1, 8]'],
    [{ type: 'range', minValue: 1 }, 0, 'the policy requires a value within [1, ∞]'],
    [{ type: 'range', maxValue: 8 }, 9, 'the policy requires a value within [-∞, 8]'],
    [{ type: 'range' }, 9, undefined],
  ])('applies the rule %j to %j', (rule, value, why) => {
    // Act
    const verdict = ruleViolation(rule, value);

    // Assess
    expect(verdict).toBe(why);
  });

  it('judges nested attributes by their dotted path, and only the attributes the change sets', () => {
    // Act
    const onDemand = policyViolations(policy('fixed'), { aws_attributes: { availability: 'ON_DEMAND' } });
    const other = policyViolations(policy('fixed'), { aws_attributes: { zone_id: 'auto' } });

    // Assess
    expect(onDemand).toEqual([
      {
        path: 'aws_attributes.availability',
        value: 'ON_DEMAND',
        why: 'the policy fixes it to "SPOT_WITH_FALLBACK" (cluster policy E06216CAA0000363)',
      },
    ]);
    expect(other).toEqual([]);
  });

  it('matches a rule path with a wildcard segment', () => {
    // Prepare
    const wildcard: ClusterPolicy = {
      policyId: 'P',
      definition: { 'custom_tags.*': { type: 'regex', pattern: '[a-z]+' } },
    };

    // Act
    const violations = policyViolations(wildcard, { custom_tags: { team: 'Data', owner: 'ops' } });

    // Assess
    expect(violations.map((violation) => violation.path)).toEqual(['custom_tags.team']);
  });

  it('forbids every change of a cluster whose policy no longer exists', () => {
    // Act
    const violations = policyViolations(
      { policyId: 'GONE', gone: true },
      { node_type_id: 'm5.4xlarge', driver_node_type_id: 'm5.4xlarge' },
    );

    // Assess
    expect(violations.map((violation) => violation.path)).toEqual(['node_type_id', 'driver_node_type_id']);
    expect(violations[0]?.why).toMatch(/no longer exists/);
  });

  it.each([
    ['not json', undefined],
    ['[1, 2]', undefined],
    ['"a string"', undefined],
    ['{}', 'not json'],
    ['{}', '[1, 2]'],
  ])('reads no definition from %j with the overrides %j', (text, overrides) => {
    // Act
    const definition = parsePolicyDefinition(text, overrides);

    // Assess
    expect(definition).toBeUndefined();
  });

  it('leaves out a rule it cannot read and keeps the others', () => {
    // Act
    const definition = parsePolicyDefinition(
      JSON.stringify({ node_type_id: { values: ['x'] }, spark_version: { type: 'fixed', value: '15.4.x' } }),
    );

    // Assess
    expect(Object.keys(definition ?? {})).toEqual(['spark_version']);
  });
});

describe('cluster policies: what is read and judged', () => {
  const fixed = { node_type_id: { type: 'fixed', value: 'r5d.4xlarge' } };
  it.each([
    { name: 'no definition', definition: undefined, overrides: undefined, rules: {} },
    { name: 'empty overrides', definition: JSON.stringify(fixed), overrides: '', rules: fixed },
    {
      name: 'overrides that win',
      definition: JSON.stringify(fixed),
      overrides: JSON.stringify({ node_type_id: { type: 'unlimited' } }),
      rules: { node_type_id: { type: 'unlimited' } },
    },
  ])('reads the rules of $name', ({ definition, overrides, rules }) => {
    // Act
    const read = parsePolicyDefinition(definition, overrides);

    // Assess
    expect(read).toEqual(rules);
  });

  it('names the policy by its name and id', () => {
    // Prepare
    const named: ClusterPolicy = { policyId: 'P-1', name: 'One node type', definition: fixed };

    // Act
    const violations = policyViolations(named, { node_type_id: 'm5.4xlarge' });

    // Assess
    expect(violations).toEqual([
      {
        path: 'node_type_id',
        value: 'm5.4xlarge',
        why: 'the policy fixes it to "r5d.4xlarge" (cluster policy One node type (P-1))',
      },
    ]);
  });

  it.each([
    { name: 'an empty object', values: { custom_tags: {} }, path: 'custom_tags', value: {} },
    {
      name: 'a null',
      values: { driver_instance_pool_id: null },
      path: 'driver_instance_pool_id',
      value: null,
    },
  ])('judges $name as one attribute', ({ values, path, value }) => {
    // Prepare
    const forbidding: ClusterPolicy = { policyId: 'P', definition: { [path]: { type: 'forbidden' } } };

    // Act
    const violations = policyViolations(forbidding, values);

    // Assess
    expect(violations).toEqual([{ path, value, why: 'the policy forbids setting it (cluster policy P)' }]);
  });

  it.each([
    { rulePath: 'aws_attributes', forbidden: false },
    { rulePath: 'aws_attributes.availability.mode', forbidden: false },
    { rulePath: 'aws_attributes.availability', forbidden: true },
    { rulePath: '*.availability', forbidden: true },
  ])('applies a rule of $rulePath to aws_attributes.availability: $forbidden', ({ rulePath, forbidden }) => {
    // Prepare
    const forbidding: ClusterPolicy = { policyId: 'P', definition: { [rulePath]: { type: 'forbidden' } } };

    // Act
    const violations = policyViolations(forbidding, { aws_attributes: { availability: 'SPOT' } });

    // Assess
    expect(violations.length > 0).toBe(forbidden);
  });
});
