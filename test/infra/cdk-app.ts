import { readFileSync } from 'node:fs';
import { App, type AppProps } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';

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
