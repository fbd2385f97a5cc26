import { SFNClient } from '@aws-sdk/client-sfn';
import { awsHttpHandler } from './aws.ts';

/** The Step Functions client of this container (see `aws.ts`). */
export const stepFunctions = new SFNClient({ requestHandler: awsHttpHandler() });
