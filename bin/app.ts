import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { RecoveryStack } from '../lib/stack.ts';

const app = new App();

// One name per deployment; a second deployment in the same account (the integration run) sets its own.
const stackName: unknown = app.node.tryGetContext('stackName') ?? 'DatabricksClusterRecovery';
if (typeof stackName !== 'string' || !/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(stackName)) {
  throw new Error(
    'context stackName must start with a letter and hold at most 128 letters, digits and dashes',
  );
}

// Environment-agnostic on purpose: synthesis needs no AWS account, credentials or network.
new RecoveryStack(app, stackName);

// Any finding that is neither fixed nor acknowledged with a reason fails the synthesis.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
