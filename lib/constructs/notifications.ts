import { CfnOutput, Stack } from 'aws-cdk-lib';
import type { Alarm } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Grant, PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

/**
 * The SNS topic that carries ticket, recovery and escalation notifications: encrypted, and
 * refusing any request that does not use TLS.
 */
export class Notifications extends Construct {
  /** The notification topic; subscribe e-mail, chat or paging integrations to it. */
  public readonly topic: Topic;

  /**
   * The topic's customer-managed key, with yearly rotation. Not the AWS-managed `alias/aws/sns`
   * key: its policy cannot be changed, so CloudWatch alarms could never publish to the topic. An
   * alarm sent here with `sendAlarms` grants `cloudwatch.amazonaws.com` use of this key.
   */
  public readonly key: Key;

  constructor(scope: Construct, id: string) {
    super(scope, id);

    this.key = new Key(this, 'Key', {
      description: 'Encrypts the Databricks cluster recovery notification topic',
      enableKeyRotation: true,
    });
    this.topic = new Topic(this, 'Topic', {
      masterKey: this.key,
      enforceSSL: true,
    });
    new CfnOutput(this, 'TopicArn', {
      value: this.topic.topicArn,
      description: 'Subscribe e-mail, chat or paging to this topic to receive notifications and alarms',
    });
  }

  /**
   * Lets a function publish notifications, and tells it where in `NOTIFICATION_TOPIC_ARN`. The key
   * actions are the two that publishing to an encrypted topic uses, not `Topic.grantPublish`'s
   * `kms:GenerateDataKey*` wildcard.
   */
  public grantPublish(fn: LambdaFunction): Grant {
    fn.addEnvironment('NOTIFICATION_TOPIC_ARN', this.topic.topicArn);
    return Grant.addToPrincipal({
      grantee: fn,
      actions: ['sns:Publish'],
      resourceArns: [this.topic.topicArn],
    }).combine(this.key.grant(fn, 'kms:Decrypt', 'kms:GenerateDataKey'));
  }

  /**
   * Sends alarms to the topic. The topic is encrypted with a customer-managed key and has a resource
   * policy, so CloudWatch is allowed to publish — for these alarms only — and to use the key.
   */
  public sendAlarms(alarms: readonly Alarm[]): void {
    for (const alarm of alarms) alarm.addAlarmAction(new SnsAction(this.topic));
    const cloudWatch = new ServicePrincipal('cloudwatch.amazonaws.com');
    this.topic.addToResourcePolicy(
      new PolicyStatement({
        principals: [cloudWatch],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          ArnLike: { 'aws:SourceArn': alarms.map((alarm) => alarm.alarmArn) },
          StringEquals: { 'aws:SourceAccount': Stack.of(this).account },
        },
      }),
    );
    // For this account's alarms only, as the topic policy above.
    this.key.addToResourcePolicy(
      new PolicyStatement({
        principals: [cloudWatch],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
  }
}
