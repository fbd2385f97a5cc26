import { parseWith, ValidationError } from './errors.ts';
import {
  CLUSTER_EVENT_TYPES,
  ConnectivityTestSchema,
  type InboundPayload,
  JOB_EVENT_TYPES,
  JobNotificationSchema,
  SeedClusterEventSchema,
} from './schemas/inbound.ts';

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Recognises and validates a webhook body. The discriminator is `event` (seed cluster events and the
 * connectivity test) or `event_type` (Databricks job notifications).
 */
export function parseInbound(body: unknown): InboundPayload {
  if (!isRecord(body)) {
    throw new ValidationError('body must be a JSON object', [`(body): got ${describeType(body)}`]);
  }
  if ('event' in body) {
    if (body.event === 'test') {
      return {
        kind: 'connectivity_test',
        payload: parseWith(ConnectivityTestSchema, body, 'connectivity test'),
      };
    }
    if (typeof body.event !== 'string' || !(CLUSTER_EVENT_TYPES as readonly string[]).includes(body.event)) {
      throw new ValidationError('unsupported event', [
        `event: expected one of ${[...CLUSTER_EVENT_TYPES, 'test'].join(', ')}`,
      ]);
    }
    return { kind: 'cluster_event', payload: parseWith(SeedClusterEventSchema, body, 'cluster event') };
  }
  if ('event_type' in body) {
    if (
      typeof body.event_type !== 'string' ||
      !(JOB_EVENT_TYPES as readonly string[]).includes(body.event_type)
    ) {
      throw new ValidationError('unsupported job notification', [
        `event_type: expected one of ${JOB_EVENT_TYPES.join(', ')}`,
      ]);
    }
    return { kind: 'job_notification', payload: parseWith(JobNotificationSchema, body, 'job notification') };
  }
  throw new ValidationError('unrecognised payload', [
    "(body): expected 'event' (a cluster event or the connectivity test) or 'event_type' (a job notification)",
  ]);
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}
