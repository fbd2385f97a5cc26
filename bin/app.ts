import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { RecoveryStack } from '../lib/stack.ts';

const app = new App();

// Environment-agnostic on purpose: synthesis needs no AWS account, credentials or network.
new RecoveryStack(app, 'DatabricksClusterRecovery');

// Any finding that is neither fixed nor acknowledged with a reason fails the synthesis.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
