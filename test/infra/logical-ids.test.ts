import { readFileSync, writeFileSync } from 'node:fs';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { RecoveryStack } from '../../lib/stack.ts';
import { testApp } from './cdk-app.ts';

/**
 * The committed list of the stack's logical ids. A construct id that changes replaces the deployed
 * resource (the table and its tickets, the API key secret, the API's URL), so a refactor must keep
 * every id; a resource added or removed on purpose updates the list in the same commit.
 */
const LIST = new URL('../fixtures/infra/logical-ids.json', import.meta.url);
const UPDATE_COMMAND = 'UPDATE_LOGICAL_IDS=1 npx vitest run test/infra/logical-ids.test.ts';

interface LogicalIds {
  /** Logical id → resource type. */
  readonly resources: Readonly<Record<string, string>>;
  readonly outputs: readonly string[];
}

/** API Gateway names each deployment after a hash of the API's content: only its prefix is an id. */
function stableId(id: string, type: string): string {
  return type === 'AWS::ApiGateway::Deployment' ? id.replace(/[0-9a-f]{32}$/, '<content hash>') : id;
}

function synthesisedIds(): LogicalIds {
  // The stack name of bin/app.ts: some ids (Lambda permissions) embed it.
  const stack = new RecoveryStack(testApp(), 'DatabricksClusterRecovery');
  const template = Template.fromStack(stack).toJSON() as {
    readonly Resources: Record<string, { readonly Type: string }>;
    readonly Outputs?: Record<string, unknown>;
  };
  const resources = Object.entries(template.Resources)
    .map(([id, resource]) => [stableId(id, resource.Type), resource.Type] as const)
    .sort(([a], [b]) => a.localeCompare(b));
  return { resources: Object.fromEntries(resources), outputs: Object.keys(template.Outputs ?? {}).sort() };
}

describe('RecoveryStack logical ids', () => {
  it('synthesises exactly the committed logical ids, so no deployed resource is replaced by accident', () => {
    // Prepare
    if (process.env.UPDATE_LOGICAL_IDS === '1') {
      writeFileSync(LIST, `${JSON.stringify(synthesisedIds(), null, 2)}\n`);
    }
    const committed = JSON.parse(readFileSync(LIST, 'utf8')) as LogicalIds;

    // Act
    const synthesised = synthesisedIds();

    // Assess
    const differences = {
      added: Object.keys(synthesised.resources).filter((id) => !(id in committed.resources)),
      removed: Object.keys(committed.resources).filter((id) => !(id in synthesised.resources)),
      retyped: Object.keys(committed.resources).filter(
        (id) => id in synthesised.resources && synthesised.resources[id] !== committed.resources[id],
      ),
      outputsAdded: synthesised.outputs.filter((id) => !committed.outputs.includes(id)),
      outputsRemoved: committed.outputs.filter((id) => !synthesised.outputs.includes(id)),
    };
    expect(
      differences,
      `The template's logical ids differ from test/fixtures/infra/logical-ids.json. A changed construct id ` +
        `replaces the deployed resource: keep the ids when refactoring. If you add or remove a resource on ` +
        `purpose, update the list with \`${UPDATE_COMMAND}\` and commit it with the change.`,
    ).toEqual({ added: [], removed: [], retyped: [], outputsAdded: [], outputsRemoved: [] });
  });
});
