import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  FanOutNotifier,
  MemoryNotifier,
  type Notifier,
  type RecoveryNotification,
  SnsNotifier,
} from '../../functions/shared/notify.ts';
import { parseWebhookUrl, SlackDeliveryError, SlackNotifier } from '../../functions/shared/notify-slack.ts';
import { useHarmLedger } from '../support/harms.ts';
import { createWorkflowHarness, type WorkflowHarness } from './harness.ts';

const SLACK_SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:slack-webhook-AbCdEf';

const MESSAGE: RecoveryNotification = {
  ticketId: 'RCA-20250102-001',
  workspaceId: 'default',
  clusterId: '0923-164208-meows279',
  clusterName: 'Shared Orders ETL',
  errorType: 'DatabricksClusterTerminated',
  action: 'restart_cluster',
  outcome: 'escalated',
  summary: 'recovery failed after 3 attempts',
  attempts: 3,
  clusterUrl: 'https://dbc-1234.cloud.databricks.com/#setting/clusters/0923-164208-meows279/configuration',
  breakerChanges: [{ scope: 'cluster#default#0923-164208-meows279', transition: 'opened' }],
};

/** A stand-in for Slack's incoming webhook on 127.0.0.1: records posts, answers `status`. */
async function startWebhook(): Promise<{
  url: string;
  posts: { path: string; body: Record<string, unknown> }[];
  status: { code: number };
  close(): Promise<void>;
}> {
  const posts: { path: string; body: Record<string, unknown> }[] = [];
  const status = { code: 200 };
  const server: Server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      posts.push({ path: req.url ?? '', body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      res
        .writeHead(status.code, { 'content-type': 'text/plain' })
        .end(status.code === 200 ? 'ok' : 'no_service');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  // The path plays the webhook's secret part; generated per run.
  const url = `http://127.0.0.1:${port}/services/T0/B0/${randomBytes(12).toString('hex')}`;
  return {
    url,
    posts,
    status,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('notifications', () => {
  const secrets = mockClient(SecretsManagerClient);
  const sns = mockClient(SNSClient);
  let webhook: Awaited<ReturnType<typeof startWebhook>>;
  beforeAll(async () => {
    webhook = await startWebhook();
  });
  afterEach(() => {
    secrets.reset();
    sns.reset();
    webhook.posts.length = 0;
    webhook.status.code = 200;
  });
  afterAll(async () => {
    secrets.restore();
    sns.restore();
    await webhook.close();
  });

  const slack = () =>
    new SlackNotifier({
      secretArn: SLACK_SECRET_ARN,
      secrets: new SecretsManagerClient({ region: 'us-east-1' }),
    });

  it('publishes to SNS with the ticket, cluster, error type, action, outcome, breaker change and cluster link', async () => {
    // Prepare
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
    const notifier = new SnsNotifier(
      new SNSClient({ region: 'us-east-1' }),
      'arn:aws:sns:us-east-1:000000000000:topic',
    );

    // Act
    await notifier.notify(MESSAGE);

    // Assess
    const [call] = sns.commandCalls(PublishCommand);
    const input = call?.args[0].input;
    expect(input?.Subject).toBe(
      '[RCA-20250102-001] Shared Orders ETL escalated: manual intervention required',
    );
    for (const fact of [
      'Ticket: RCA-20250102-001',
      'Cluster: Shared Orders ETL (0923-164208-meows279)',
      'Error type: DatabricksClusterTerminated',
      'Action: restart_cluster',
      'Outcome: escalated',
      'Circuit breaker opened for cluster#default#0923-164208-meows279',
      `Cluster page: ${MESSAGE.clusterUrl}`,
    ]) {
      expect(input?.Message).toContain(fact);
    }
    expect(input?.MessageAttributes?.outcome).toEqual({ DataType: 'String', StringValue: 'escalated' });
  });

  it.each([
    ['the URL itself', (url: string) => url],
    ['JSON with webhookUrl', (url: string) => JSON.stringify({ webhookUrl: url })],
  ])('posts to the Slack webhook whose secret holds %s', async (_name, secretOf) => {
    // Prepare
    secrets
      .on(GetSecretValueCommand, { SecretId: SLACK_SECRET_ARN })
      .resolves({ SecretString: secretOf(webhook.url) });

    // Act
    await slack().notify(MESSAGE);

    // Assess
    expect(webhook.posts).toHaveLength(1);
    const body = webhook.posts[0]?.body as { text: string; blocks: { text: { text: string } }[] };
    expect(body.text).toBe(
      ':rotating_light: [RCA-20250102-001] Shared Orders ETL escalated: manual intervention required',
    );
    expect(body.blocks[1]?.text.text).toContain('Error type: DatabricksClusterTerminated');
    expect(body.blocks[1]?.text.text).toContain(MESSAGE.clusterUrl);
  });

  it('fails with the status, never the URL, when Slack refuses the post', async () => {
    // Prepare
    secrets.on(GetSecretValueCommand).resolves({ SecretString: webhook.url });
    webhook.status.code = 404;

    // Act
    const sending = slack().notify(MESSAGE);

    // Assess
    await expect(sending).rejects.toThrow(SlackDeliveryError);
    await expect(slack().notify(MESSAGE)).rejects.toThrow(/^Slack answered 404 to the webhook post$/);
  });

  it.each([
    ['plain http to a remote host', 'http://hooks.slack.example/services/x', /must use https/],
    ['something that is not a URL', 'not a url', /must hold the webhook URL/],
    ['JSON without webhookUrl', '{"url":"https://hooks.slack.com/services/x"}', /must hold the webhook URL/],
  ])('refuses a webhook secret holding %s', (_name, value, message) => {
    // Act
    const parse = () => parseWebhookUrl(value);

    // Assess
    expect(parse).toThrow(message);
  });

  it('delivers to every target when one fails, then reports the failure', async () => {
    // Prepare
    const memory = new MemoryNotifier();
    const failing: Notifier = { notify: async () => Promise.reject(new Error('topic unavailable')) };
    const fanOut = new FanOutNotifier([failing, memory]);

    // Act
    const sending = fanOut.notify(MESSAGE);

    // Assess
    await expect(sending).rejects.toThrow('topic unavailable');
    expect(memory.messages).toEqual([MESSAGE]);
  });
});

describe('notifications from the recovery workflow', () => {
  let webhook: Awaited<ReturnType<typeof startWebhook>>;
  let h: WorkflowHarness;
  const failures: Notifier = { notify: async () => Promise.reject(new Error('SNS is down')) };
  let failNext = false;
  beforeAll(async () => {
    webhook = await startWebhook();
    const slack = new SlackNotifier({
      secretArn: SLACK_SECRET_ARN,
      secrets: new SecretsManagerClient({ region: 'us-east-1' }),
    });
    const switchable: Notifier = {
      notify: (message) => (failNext ? failures.notify(message) : slack.notify(message)),
    };
    h = await createWorkflowHarness({ notifier: switchable, secrets: { [SLACK_SECRET_ARN]: webhook.url } });
  });
  afterAll(async () => {
    await h?.close();
    await webhook.close();
  });
  useHarmLedger(() => h?.simulator);

  it('posts the outcome of a recovery to Slack with the link to the cluster page', async () => {
    // Prepare
    const clusterId = '0101-000022-notify01';

    // Act
    const recovery = await h.recoverCluster(clusterId);

    // Assess
    expect(recovery.ticket.status).toBe('closed');
    const text = JSON.stringify(webhook.posts.map((post) => post.body));
    expect(text).toContain(recovery.ticket.ticketId);
    expect(text).toContain(`${h.simulator.url}/#setting/clusters/${clusterId}/configuration`);
    expect(text).toContain('Outcome: recovered');
  });

  it('closes the ticket even when the notification fails, and audits the failure', async () => {
    // Prepare
    failNext = true;
    const clusterId = '0101-000002-shutdwn1';

    // Act
    const recovery = await h.recoverCluster(clusterId);

    // Assess
    expect(recovery.ticket.status).toBe('closed');
    expect(recovery.audit.at(-1)).toMatchObject({
      event: 'notification_failed',
      details: { outcome: 'recovered' },
    });
    expect(h.logs.some((line) => line.level === 'error' && line.message === 'notification failed')).toBe(
      true,
    );
  });
});
