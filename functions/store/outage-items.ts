/**
 * The outage items of the single table as `store/outages.ts` writes and reads them: their keys, the
 * outage's id, the conversions from items, and the transaction items that open and end an outage.
 * Pure: nothing here sends a request.
 */
import type { UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { compact } from '../core/json.ts';
import type {
  Outage,
  OutageChild,
  OutageClass,
  OutageStatus,
  OutageWindow,
  WindowMember,
} from '../core/outage.ts';
import { withoutKeys } from './dynamo.ts';
import type { TransactItem } from './ticket-items.ts';

const WINDOW_PK = 'OUTAGE_WINDOW';
export const OUTAGE_PK = 'OUTAGE';
export const MEMBER_PREFIX = 'm#';
export const CHILD_PREFIX = 'child#';

export function windowKey(workspaceId: string, outageClass: OutageClass): { pk: string; sk: string } {
  return { pk: WINDOW_PK, sk: `${workspaceId}#${outageClass}` };
}

export function outageKey(outageId: string): { pk: string; sk: string } {
  return { pk: OUTAGE_PK, sk: outageId };
}

let lastMs = 0;

/** `OUT-YYYYMMDD-<ms of the day, 8 digits>-<4 hex>`: sortable by time, unique by the put's condition. */
export function newOutageId(now: number): string {
  const ms = Math.max(now, lastMs + 1);
  lastMs = ms;
  const day = new Date(ms).toISOString().slice(0, 10).replaceAll('-', '');
  const ofDay = ms % 86_400_000;
  const suffix = Math.floor(Math.random() * 0x10000)
    .toString(16)
    .padStart(4, '0');
  return `OUT-${day}-${String(ofDay).padStart(8, '0')}-${suffix}`;
}

/**
 * The Update of an outage that names its probe (`SET probeTicketId`) on `condition` (which reads
 * `#probe` and `#status`): claiming a probe, or replacing one.
 */
export function probeUpdate(
  tableName: string,
  outageId: string,
  ticketId: string,
  condition: string,
  values: Record<string, unknown>,
): UpdateCommandInput {
  return {
    TableName: tableName,
    Key: outageKey(outageId),
    UpdateExpression: 'SET #probe = :ticket ADD #version :one',
    ConditionExpression: condition,
    ExpressionAttributeNames: { '#probe': 'probeTicketId', '#status': 'status', '#version': 'version' },
    ExpressionAttributeValues: { ':ticket': ticketId, ':probing': 'probing', ':one': 1, ...values },
  };
}

/**
 * Opening an outage: the window's `outageId` set on the condition that it has none (`ALL_OLD` names
 * the open one), and the outage put unless its id is taken.
 */
export function openItems(tableName: string, outage: Outage): TransactItem[] {
  const { children: _children, ...stored } = outage;
  return [
    {
      Update: {
        TableName: tableName,
        Key: windowKey(outage.workspaceId, outage.outageClass),
        UpdateExpression: 'SET #outageId = :id',
        ConditionExpression: 'attribute_not_exists(#outageId)',
        ExpressionAttributeNames: { '#outageId': 'outageId' },
        ExpressionAttributeValues: { ':id': outage.outageId },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    },
    {
      Put: {
        TableName: tableName,
        Item: { ...outageKey(outage.outageId), ...stored },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    },
  ];
}

/**
 * Ending an outage: its status `from` → `to` (with the reason and who resolved it), and its window
 * cleared in the same write (`REMOVE outageId`, `SET resetAt`: a later failure starts a new count).
 */
export function endItems(
  tableName: string,
  outage: Pick<Outage, 'outageId' | 'workspaceId' | 'outageClass'>,
  change: {
    readonly from: readonly OutageStatus[];
    readonly to: OutageStatus;
    readonly details: { readonly reason?: string; readonly resolvedBy?: string };
    readonly now: number;
  },
): TransactItem[] {
  const fromValues = Object.fromEntries(change.from.map((status, i) => [`:from${i}`, status]));
  const patch = compact({ reason: change.details.reason, resolvedBy: change.details.resolvedBy });
  const patchNames = Object.fromEntries(Object.keys(patch).map((k) => [`#${k}`, k]));
  const patchValues = Object.fromEntries(Object.entries(patch).map(([k, v]) => [`:${k}`, v]));
  const setPatch = Object.keys(patch)
    .map((k) => `, #${k} = :${k}`)
    .join('');
  return [
    {
      Update: {
        TableName: tableName,
        Key: outageKey(outage.outageId),
        UpdateExpression: `SET #status = :to, #endedAt = :now${setPatch} ADD #version :one`,
        ConditionExpression: `#status IN (${Object.keys(fromValues).join(', ')})`,
        ExpressionAttributeNames: {
          '#status': 'status',
          '#endedAt': 'endedAt',
          '#version': 'version',
          ...patchNames,
        },
        ExpressionAttributeValues: {
          ':to': change.to,
          ':now': new Date(change.now).toISOString(),
          ':one': 1,
          ...fromValues,
          ...patchValues,
        },
      },
    },
    {
      Update: {
        TableName: tableName,
        Key: windowKey(outage.workspaceId, outage.outageClass),
        UpdateExpression: 'SET #resetAt = :nowMs REMOVE #outageId',
        ConditionExpression: 'attribute_not_exists(#outageId) OR #outageId = :id',
        ExpressionAttributeNames: { '#resetAt': 'resetAt', '#outageId': 'outageId' },
        ExpressionAttributeValues: { ':nowMs': change.now, ':id': outage.outageId },
      },
    },
  ];
}

export function windowOf(item: Record<string, unknown>): OutageWindow {
  const members: WindowMember[] = [];
  for (const [name, value] of Object.entries(item)) {
    if (!name.startsWith(MEMBER_PREFIX)) continue;
    const member = value as { at?: unknown; incidentKey?: unknown };
    members.push(
      compact({
        clusterId: name.slice(MEMBER_PREFIX.length),
        at: Number(member.at),
        incidentKey: typeof member.incidentKey === 'string' ? member.incidentKey : undefined,
        ticketId:
          typeof (member as { ticketId?: unknown }).ticketId === 'string'
            ? (member as { ticketId: string }).ticketId
            : undefined,
      }),
    );
  }
  members.sort((a, b) => a.at - b.at);
  return compact({
    members,
    outageId: typeof item.outageId === 'string' ? item.outageId : undefined,
    resetAt: typeof item.resetAt === 'number' ? item.resetAt : undefined,
  });
}

export function outageOf(item: Record<string, unknown>): Outage {
  const children: OutageChild[] = [];
  const rest: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(withoutKeys(item))) {
    if (name.startsWith(CHILD_PREFIX)) children.push(value as OutageChild);
    else rest[name] = value;
  }
  children.sort((a, b) => a.detectedAt.localeCompare(b.detectedAt) || a.ticketId.localeCompare(b.ticketId));
  return { ...(rest as unknown as Omit<Outage, 'children'>), version: Number(rest.version ?? 1), children };
}
