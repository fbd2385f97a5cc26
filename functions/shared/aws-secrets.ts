import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { awsHttpHandler } from './aws.ts';

/** The Secrets Manager client of this container (see `aws.ts`). */
export const secretsManager = new SecretsManagerClient({ requestHandler: awsHttpHandler() });
