import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { Notifications } from './constructs/notifications.ts';
import { RecoveryFunction } from './constructs/recovery-function.ts';
import { IntakeSecrets } from './constructs/secrets.ts';
import { Storage } from './constructs/storage.ts';

/** Databricks cluster failure detection and recovery. Composes the constructs; holds no resource of its own. */
export class RecoveryStack extends Stack {
  /** Tickets, incidents, breakers and poll cursors. */
  public readonly storage: Storage;

  /** The API keys the intake accepts. */
  public readonly intakeSecrets: IntakeSecrets;

  /** Where tickets, recoveries and escalations are announced. */
  public readonly notifications: Notifications;

  /** Answers which build is deployed; has no access to anything. */
  public readonly healthFunction: RecoveryFunction;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, {
      description: 'Detects and recovers failed Databricks clusters',
      ...props,
    });

    this.storage = new Storage(this, 'Storage');
    this.intakeSecrets = new IntakeSecrets(this, 'IntakeSecrets');
    this.notifications = new Notifications(this, 'Notifications');
    this.healthFunction = new RecoveryFunction(this, 'HealthFunction', {
      entry: 'functions/handlers/health.ts',
      description: 'Reports the service name and the deployed version',
      synchronousCaller: 'operators and post-deployment smoke tests (lambda invoke, RequestResponse)',
    });
  }
}
