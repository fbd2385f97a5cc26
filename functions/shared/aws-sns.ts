import { SNSClient } from '@aws-sdk/client-sns';
import { awsHttpHandler } from './aws.ts';

/** The SNS client of this container (see `aws.ts`). */
export const sns = new SNSClient({ requestHandler: awsHttpHandler() });
