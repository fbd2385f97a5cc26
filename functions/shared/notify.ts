/**
 * Recovery notifications: one message shape, delivered to the SNS topic always and to Slack when a
 * webhook is configured (`notify-slack.ts`). Delivery is best-effort for the workflow: a failed
 * notification is logged and audited, never a reason to leave a ticket unresolved.
 */
import type { SNSClient } from '@aws-sdk/client-sns';
import type { Action } from '../core/error-types.ts';

/** `resolved`: the failure was gone when the workflow looked again; nothing was changed. */
/** `awaiting_approval`: the recovery waits for `rca approve`; the summary carries the command. */
/** `outage`: K clusters failed with one cloud or service class; one notification for all of them. */
export type NotificationOutcome =
  | 'recovered'
  | 'escalated'
  | 'shadow'
  | 'resolved'
  | 'awaiting_approval'
  | 'outage';

export interface BreakerChange {
  readonly scope: string;
  /** `opened` is the seed's "Circuit breaker opened" alert. */
  readonly transition: string;
}

/** Everything a person needs to act on one recovery outcome. */
export interface RecoveryNotification {
  readonly ticketId: string;
  readonly workspaceId: string;
  readonly clusterId?: string;
  readonly clusterName?: string;
  readonly jobId?: string;
  readonly runId?: string;
  readonly errorType: string;
  readonly action: Action;
  readonly outcome: NotificationOutcome;
  /** What was done, or why a human must take over. */
  readonly summary: string;
  readonly attempts: number;
  /** `https://<host>/#setting/clusters/<id>/configuration` */
  readonly clusterUrl?: string;
  readonly runUrl?: string;
  readonly resolutionSeconds?: number;
  readonly breakerChanges: readonly BreakerChange[];
}

export interface Notifier {
  notify(message: RecoveryNotification): Promise<void>;
}

/** The cluster's configuration page in the workspace UI. */
export function clusterPageUrl(host: string, clusterId: string): string {
  return `${host.replace(/\/+$/, '')}/#setting/clusters/${encodeURIComponent(clusterId)}/configuration`;
}

const HEADLINES: Readonly<Record<NotificationOutcome, string>> = {
  recovered: 'recovered',
  escalated: 'escalated: manual intervention required',
  shadow: 'shadow mode: nothing was changed',
  resolved: 'resolved without action: nothing was changed',
  awaiting_approval: 'awaits approval: nothing is changed until an operator approves',
  outage: 'outage: clusters failed together; recoveries held, one probe first',
};

/** `[RCA-20250102-001] Orders ETL recovered` (SNS subjects are limited to 100 characters). */
export function subjectOf(message: RecoveryNotification): string {
  const what = message.clusterName ?? message.clusterId ?? (message.runId ? `run ${message.runId}` : 'job');
  const subject = `[${message.ticketId}] ${what} ${HEADLINES[message.outcome]}`;
  return subject.length <= 100 ? subject : `${subject.slice(0, 99)}…`;
}

/** Plain text for e-mail and chat: one fact per line. */
export function textOf(message: RecoveryNotification): string {
  const cluster =
    message.clusterId === undefined
      ? undefined
      : `${message.clusterName ? `${message.clusterName} ` : ''}(${message.clusterId})`;
  const lines = [
    `Ticket: ${message.ticketId}`,
    `Outcome: ${message.outcome}`,
    ...(cluster ? [`Cluster: ${cluster}`] : []),
    ...(message.runId ? [`Job run: ${message.runId}${message.jobId ? ` (job ${message.jobId})` : ''}`] : []),
    `Workspace: ${message.workspaceId}`,
    `Error type: ${message.errorType}`,
    `Action: ${message.action}`,
    `Attempts: ${message.attempts}`,
    `Details: ${message.summary}`,
    ...(message.resolutionSeconds === undefined
      ? []
      : [`Resolution time: ${Math.round(message.resolutionSeconds)} s`]),
    ...message.breakerChanges.map((change) => `Circuit breaker ${change.transition} for ${change.scope}`),
    ...(message.clusterUrl ? [`Cluster page: ${message.clusterUrl}`] : []),
    ...(message.runUrl ? [`Run page: ${message.runUrl}`] : []),
  ];
  return lines.join('\n');
}

/** Publishes to the SNS topic, with attributes subscribers can filter on. */
export class SnsNotifier implements Notifier {
  readonly #client: Pick<SNSClient, 'send'>;
  readonly #topicArn: string;

  constructor(client: Pick<SNSClient, 'send'>, topicArn: string) {
    this.#client = client;
    this.#topicArn = topicArn;
  }

  async notify(message: RecoveryNotification): Promise<void> {
    // Loaded when first needed, like the client (see functions/shared/aws-sns.ts).
    const { PublishCommand } = await import('@aws-sdk/client-sns');
    await this.#client.send(
      new PublishCommand({
        TopicArn: this.#topicArn,
        Subject: subjectOf(message),
        Message: textOf(message),
        MessageAttributes: {
          outcome: { DataType: 'String', StringValue: message.outcome },
          errorType: { DataType: 'String', StringValue: message.errorType },
          ticketId: { DataType: 'String', StringValue: message.ticketId },
        },
      }),
    );
  }
}

/** Sends to every notifier; one failing does not stop the others, and the first failure is rethrown. */
export class FanOutNotifier implements Notifier {
  readonly #targets: readonly Notifier[];

  constructor(targets: readonly Notifier[]) {
    this.#targets = targets;
  }

  async notify(message: RecoveryNotification): Promise<void> {
    const results = await Promise.allSettled(this.#targets.map((target) => target.notify(message)));
    const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }
}

/** Keeps every message in memory (tests, local mode) and optionally logs it. */
export class MemoryNotifier implements Notifier {
  readonly messages: RecoveryNotification[] = [];
  readonly #log: ((line: string, message: RecoveryNotification) => void) | undefined;

  constructor(log?: (line: string, message: RecoveryNotification) => void) {
    this.#log = log;
  }

  async notify(message: RecoveryNotification): Promise<void> {
    this.messages.push(message);
    this.#log?.(subjectOf(message), message);
  }

  /** The messages of one ticket, oldest first. */
  for(ticketId: string): RecoveryNotification[] {
    return this.messages.filter((message) => message.ticketId === ticketId);
  }
}
