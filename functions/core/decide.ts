/**
 * "What would the system do with this?" — the pure decision for one payload, for `rca classify`. No
 * I/O: job notifications come with their `runs/get` and `clusters/get` context already fetched, and
 * are analysed as the intake analyses them (`job-notification.ts`); signals are built and classified
 * as the intake and the poller build and classify them.
 */

import { classifySignal } from './classifier/classify.ts';
import type { Classification } from './classifier/types.ts';
import { parseWith, ValidationError } from './errors.ts';
import { parseInbound } from './inbound.ts';
import { analyzeJobNotification, ignoredJobEvent, NO_FAILED_RUN } from './job-notification.ts';
import { DEFAULT_PLAYBOOKS, type Playbook, type PlaybookTable } from './playbooks.ts';
import { ClusterDetailsSchema, RunSchema } from './schemas/databricks.ts';
import { JobNotificationSchema } from './schemas/inbound.ts';
import type { FailureSignal } from './signal.ts';
import { signalFromCluster, signalFromClusterEvent, signalFromJobRun } from './signal-builders.ts';
import * as z from './zod.ts';

export const DEFAULT_WORKSPACE_ID = 'default';

/** A job notification with the context the intake would fetch for it. */
export const JobWithContextSchema = z.looseObject({
  notification: JobNotificationSchema,
  run: RunSchema,
  clusters: z._default(z.optional(z.array(ClusterDetailsSchema).check(z.maxLength(1000))), []),
});

export type PayloadKind =
  | 'connectivity_test'
  | 'cluster_event'
  | 'job_notification'
  | 'job_notification_with_context'
  | 'cluster_details';

export interface Decision {
  readonly input: PayloadKind;
  readonly classification: Classification;
  readonly signal?: FailureSignal;
  /** The playbook that applies, for failures. */
  readonly playbook?: Playbook;
}

const ignored = (input: PayloadKind, reason: string): Decision => ({
  input,
  classification: { isFailure: false, reason, basis: 'observation', confidence: 1 },
});

export interface DecideOptions {
  readonly now: number;
  readonly workspaceId?: string;
  readonly playbooks?: PlaybookTable;
}

export function decide(body: unknown, options: DecideOptions): Decision {
  const playbooks = options.playbooks ?? DEFAULT_PLAYBOOKS;
  const ctx = { now: options.now, workspaceId: options.workspaceId ?? DEFAULT_WORKSPACE_ID };
  const withSignal = (input: PayloadKind, signal: FailureSignal): Decision => {
    const classification = classifySignal(signal, playbooks);
    const playbook = classification.errorType === undefined ? undefined : playbooks[classification.errorType];
    return { input, classification, signal, ...(playbook === undefined ? {} : { playbook }) };
  };

  if (isRecord(body) && 'notification' in body) {
    const { notification, run, clusters } = parseWith(
      JobWithContextSchema,
      body,
      'job notification with context',
    );
    const ignoredWhy = ignoredJobEvent(notification.event_type);
    if (ignoredWhy !== undefined) return ignored('job_notification_with_context', ignoredWhy);
    const analysis = analyzeJobNotification(notification, run, clusters);
    if (analysis === undefined) return ignored('job_notification_with_context', NO_FAILED_RUN);
    const workspaceId = notification.workspace_id ?? ctx.workspaceId;
    return withSignal('job_notification_with_context', signalFromJobRun(analysis, { ...ctx, workspaceId }));
  }
  if (isRecord(body) && 'cluster_id' in body && !('event' in body)) {
    const cluster = parseWith(ClusterDetailsSchema, body, 'cluster details');
    if (cluster.state !== 'TERMINATED' && cluster.state !== 'TERMINATING') {
      return ignored(
        'cluster_details',
        `the cluster is ${cluster.state ?? 'in an unknown state'}, not terminated`,
      );
    }
    return withSignal('cluster_details', signalFromCluster(cluster, 'termination', 'poller', ctx));
  }

  const inbound = parseInbound(body);
  switch (inbound.kind) {
    case 'connectivity_test':
      return ignored('connectivity_test', 'connectivity test');
    case 'cluster_event':
      return withSignal('cluster_event', signalFromClusterEvent(inbound.payload, ctx));
    case 'job_notification': {
      const ignoredWhy = ignoredJobEvent(inbound.payload.event_type);
      if (ignoredWhy !== undefined) return ignored('job_notification', ignoredWhy);
      throw new ValidationError('a job notification carries ids only', [
        '(body): to classify it offline, send {"notification": <the notification>, "run": <runs/get response>, "clusters": [<clusters/get response>, ...]}',
      ]);
    }
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

// Re-exported so that callers of `decide` can validate notifications the same way.
export { JobNotificationSchema };
