import { readFileSync } from 'node:fs';
import { App, type AppProps } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import type { Construct, IConstruct } from 'constructs';
import type { WorkspaceEntryInput } from '../../functions/core/workspace.ts';
import type { Storage } from '../../lib/constructs/storage.ts';
import { WorkspaceRegistry, type WorkspaceRegistryProps } from '../../lib/constructs/workspace-registry.ts';

const cdkJson = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as {
  readonly context: Record<string, unknown>;
};

/**
 * An app with the feature flags of cdk.json, so tests see the template `cdk synth` produces.
 * Bundling is skipped unless `bundle` is set: only one test pays for esbuild.
 */
export function testApp(options: { readonly bundle?: boolean } & AppProps = {}): App {
  const { bundle = false, ...props } = options;
  return new App({
    ...props,
    context: {
      ...cdkJson.context,
      // The CLI records where each asset was staged; the bundling test reads it back.
      ...(bundle ? { 'aws:cdk:enable-asset-metadata': true } : { 'aws:cdk:bundling-stacks': [] }),
      ...props.context,
    },
  });
}

/** A finding neither fixed nor acknowledged: `AwsSolutions-SNS3 at Stack/Topic/Resource`. */
export type Finding = string;

/** Runs the AwsSolutions and Serverless packs over `scope`, as `bin/app.ts` does at synthesis. */
export function nagFindings(scope: IConstruct): Finding[] {
  return [new AwsSolutionsChecks(), new ServerlessChecks()].flatMap((pack) =>
    pack
      .validateScope(scope)
      .violations.flatMap((violation) =>
        violation.violatingResources.map((resource) => `${violation.ruleName} at ${resource.constructPath}`),
      ),
  );
}

/** The workspaces infrastructure tests seed: one imported secret name under the default prefix. */
export const TEST_WORKSPACES: readonly WorkspaceEntryInput[] = [
  { id: 'prod', host: 'https://dbc-1234.cloud.databricks.com', credentialsSecretName: 'databricks/prod' },
  {
    id: 'analytics',
    host: 'https://dbc-5678.cloud.databricks.com',
    credentialsSecretName: 'databricks/analytics',
  },
];

/** A workspace registry in `scope`'s stack over `storage`, seeded with `TEST_WORKSPACES` by default. */
export function testRegistry(
  scope: Construct,
  storage: Storage,
  props: Omit<WorkspaceRegistryProps, 'storage'> = { seed: TEST_WORKSPACES },
): WorkspaceRegistry {
  return new WorkspaceRegistry(scope, 'Workspaces', { storage, ...props });
}

/** The workspaces the registry's custom resources write at deployment, as registry entries. */
export function seededWorkspaces(template: Template): Record<string, string>[] {
  const render = (value: unknown): string => {
    if (typeof value === 'string') return value;
    const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
    // A token (the table's name) inside the call: only its place matters here.
    return join === undefined ? '<token>' : join[1].map(render).join(join[0]);
  };
  return Object.values(template.findResources('Custom::AWS')).flatMap((resource) => {
    const call = JSON.parse(render(resource.Properties.Create)) as {
      parameters: { TransactItems: { Put: { Item: Record<string, { S: string }> } }[] };
    };
    return call.parameters.TransactItems.map(({ Put }) =>
      Object.fromEntries(Object.entries(Put.Item).map(([key, value]) => [key, value.S])),
    );
  });
}
