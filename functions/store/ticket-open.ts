/**
 * Opening a ticket: one TransactWriteItems that writes the ticket and its pointers and checks the
 * breakers, the silences and the blast-radius cap, and what its cancellation reasons say when it fails.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { QUEUED, type SlotRequest } from '../core/fleet.ts';
import { executionNameFor } from '../core/incident.ts';
import { compact } from '../core/json.ts';
import {
  auditEntry,
  formatTicketId,
  isMarked,
  type OpenTicketGuarded,
  type OpenTicketInput,
  type OpenTicketResult,
  type OpenTicketSilenced,
  type Ticket,
  TicketConflictError,
} from '../core/ticket.ts';
import { breakerKey } from './breakers.ts';
import { backoffMs, cancellationReasons } from './dynamo.ts';
import { acquireSlotItem } from './recovery-cap.ts';
import { silenceClearCondition, silenceMarkerKey } from './silences.ts';
import {
  auditItem,
  claimKey,
  incidentKeyOf,
  markerItem,
  type TicketTable,
  type TransactItem,
  type TransactItems,
  ticketItem,
} from './ticket-items.ts';
import { duplicateOf, pointerPuts, seenMark, stringAttributes } from './ticket-pointers.ts';

/** What changes from one attempt at opening to the next. */
interface OpeningAttempt {
  readonly ticketId: string;
  readonly breakerScopes: readonly string[];
  readonly capSlot: SlotRequest | undefined;
  /** The cap was reached: the ticket is written `queued`, without breaker checks or a slot. */
  readonly queued: boolean;
}

/** One attempt's transaction and where each conditional item sits in it (-1: absent). */
interface OpeningWrite {
  readonly ticket: Ticket;
  readonly items: TransactItems;
  readonly claimAt: number;
  readonly ticketAt: number;
  readonly breakersAt: number;
  readonly silencesAt: number;
  readonly capAt: number;
  readonly guardAt: number;
}

/** What a cancelled opening means: an answer for the caller, or how the next attempt differs. */
type CancelledOpening =
  | { readonly answer: OpenTicketResult | OpenTicketSilenced | OpenTicketGuarded }
  | { readonly retry: 'next_number' | 'queue' | 'without_breakers' | 'after_backoff' };

/**
 * Opens the incident's ticket exactly once (see `TicketRepository.openTicket`), with a ConditionCheck
 * per silence scope: with a silence in force nothing is written (`silenced`).
 */
export async function openTicket(
  table: TicketTable,
  input: OpenTicketInput,
  scopes: readonly string[],
): Promise<OpenTicketResult | OpenTicketSilenced | OpenTicketGuarded> {
  const now = table.clock();
  const nowIso = new Date(now).toISOString();
  const detectedAt = normaliseIso(input.detectedAt ?? nowIso, 'detectedAt');
  const day = detectedAt.slice(0, 10).replaceAll('-', '');
  const silenceScopes = [...new Set(scopes)];
  let state: OpeningAttempt = {
    ticketId: formatTicketId(day, table.numbers.next(day, now)),
    breakerScopes: [...new Set(input.breakerScopes ?? [])],
    capSlot: input.capSlot,
    queued: false,
  };
  for (let attempt = 1; attempt <= table.maxAttempts; attempt++) {
    const ticket = openingTicket(input, state, detectedAt, nowIso);
    const write = openingWrite(table, input, state, silenceScopes, ticket, now);
    try {
      await table.client.send(new TransactWriteCommand({ TransactItems: write.items }));
      return { outcome: 'created', ticket, breakersClosed: state.breakerScopes.length > 0 };
    } catch (error) {
      const cancelled = cancelledOpening(error, write, input, silenceScopes);
      if ('answer' in cancelled) return cancelled.answer;
      switch (cancelled.retry) {
        case 'next_number':
          // The number was taken in the same millisecond by another process: take the next one.
          state = { ...state, ticketId: formatTicketId(day, table.numbers.next(day, table.clock())) };
          break;
        case 'queue':
          // The workspace's cap is reached: the ticket waits queued; breakers are asked when it leaves.
          state = { ...state, capSlot: undefined, queued: true, breakerScopes: [] };
          break;
        case 'without_breakers':
          // A breaker is open or half-open: open the ticket without the checks; the caller decides.
          state = { ...state, breakerScopes: [] };
          break;
        case 'after_backoff':
          // A concurrent transaction on the same incident or cluster is in flight; it has probably won.
          await sleep(backoffMs(attempt));
      }
    }
  }
  throw new TicketConflictError(
    state.ticketId,
    `could not open a ticket for ${input.incidentKey} under contention`,
  );
}

function openingTicket(input: OpenTicketInput, state: OpeningAttempt, detectedAt: string, nowIso: string) {
  const {
    audit: _audit,
    status = 'open',
    detectedAt: _detectedAt,
    attempts,
    clusterClaim,
    breakerScopes: _breakerScopes,
    aliasKeys = [],
    capSlot: _capSlot,
    guardItem: _guardItem,
    ...fields
  } = input;
  const ticket: Ticket = compact({
    ...fields,
    ...(state.queued ? { recoveryStatus: QUEUED, queuedAt: nowIso } : {}),
    ...(clusterClaim?.mode === 'take' ? { clusterClaim: clusterClaim.scope } : {}),
    ...(aliasKeys.length > 0 ? { incidentAliases: aliasKeys } : {}),
    ticketId: state.ticketId,
    status,
    detectedAt,
    attempts: attempts ?? 0,
    createdAt: nowIso,
    updatedAt: nowIso,
    version: 1,
  });
  return ticket;
}

function openingWrite(
  table: TicketTable,
  input: OpenTicketInput,
  state: OpeningAttempt,
  silenceScopes: readonly string[],
  ticket: Ticket,
  now: number,
): OpeningWrite {
  const { tableName } = table;
  const audit = auditEntry(ticket.ticketId, ticket.createdAt, {
    event: input.audit?.event ?? 'ticket_opened',
    actor: input.audit?.actor ?? input.source,
    details: input.audit?.details ?? { incidentKey: input.incidentKey, errorType: input.errorType },
  });
  const { items, claimAt } = pointerPuts(tableName, input, ticket);
  const ticketAt = items.length;
  items.push(
    {
      Put: {
        TableName: tableName,
        Item: ticketItem(ticket),
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    },
    { Put: { TableName: tableName, Item: auditItem(table, audit, now) } },
  );
  if (isMarked(ticket)) items.push({ Put: { TableName: tableName, Item: markerItem(ticket) } });
  const breakersAt = items.length;
  for (const scope of state.breakerScopes) {
    items.push({
      ConditionCheck: {
        TableName: tableName,
        Key: breakerKey(scope),
        ConditionExpression: 'attribute_not_exists(pk) OR #state = :closed',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':closed': 'closed' },
      },
    });
  }
  const silencesAt = items.length;
  for (const scope of silenceScopes) {
    items.push({
      ConditionCheck: {
        TableName: tableName,
        Key: silenceMarkerKey(scope),
        ...silenceClearCondition(table.clock()),
      },
    });
  }
  const capAt = state.capSlot === undefined ? -1 : items.length;
  if (state.capSlot !== undefined) {
    const executionName = executionNameFor(ticket.ticketId);
    items.push(acquireSlotItem(tableName, state.capSlot, ticket.ticketId, executionName, now));
  }
  const guardAt = input.guardItem === undefined ? -1 : items.length;
  // The repository that built the guard write (`store/outages.ts`) made it a transaction item.
  if (input.guardItem !== undefined) items.push(input.guardItem(ticket.ticketId) as TransactItem);
  return { ticket, items, claimAt, ticketAt, breakersAt, silencesAt, capAt, guardAt };
}

/**
 * Reads a cancelled opening's reasons, first match wins: a known incident or a held claim is a
 * duplicate (answered from the pointer's old image, nothing read); a taken number, a reached cap or a
 * breaker that is not closed makes the next attempt differ; a silence in force answers `silenced`.
 * Anything else that is not a transaction conflict is rethrown.
 */
function cancelledOpening(
  error: unknown,
  write: OpeningWrite,
  input: OpenTicketInput,
  silenceScopes: readonly string[],
): CancelledOpening {
  const reasons = cancellationReasons(error);
  if (reasons === undefined) throw error;
  const aliasKeys = input.aliasKeys ?? [];
  const failed = (index: number) => index >= 0 && reasons[index]?.Code === 'ConditionalCheckFailed';
  const known = aliasKeys.findIndex((_alias, i) => failed(i + 1)) + 1;
  const mark = seenMark(input.source, input.incidentKey);
  if (failed(0) || known > 0) {
    const key = incidentKeyOf(known > 0 ? (aliasKeys[known - 1] as string) : input.incidentKey);
    return { answer: duplicateOf(reasons[known]?.Item, 'incident', input.incidentKey, { key, mark }) };
  }
  if (failed(write.claimAt)) {
    const key = claimKey(input.clusterClaim?.scope as string);
    return { answer: duplicateOf(reasons[write.claimAt]?.Item, 'claim', input.incidentKey, { key, mark }) };
  }
  if (failed(write.guardAt)) {
    const item = reasons[write.guardAt]?.Item;
    return {
      answer: { outcome: 'guarded', ...(item === undefined ? {} : { item: stringAttributes(item) }) },
    };
  }
  if (failed(write.ticketAt)) return { retry: 'next_number' };
  const silenced = silenceScopes.findIndex((_scope, i) => failed(write.silencesAt + i));
  if (silenced >= 0) return { answer: { outcome: 'silenced', scope: silenceScopes[silenced] ?? '' } };
  if (failed(write.capAt)) return { retry: 'queue' };
  if (
    reasons
      .slice(write.breakersAt, write.silencesAt)
      .some((reason) => reason.Code === 'ConditionalCheckFailed')
  ) {
    return { retry: 'without_breakers' };
  }
  if (!reasons.some((reason) => reason.Code === 'TransactionConflict')) throw error;
  return { retry: 'after_backoff' };
}

function normaliseIso(value: string, field: string): string {
  const ms = Date.parse(value);
  if (Number.isNaN(ms))
    throw new RangeError(`${field} must be an ISO timestamp, got ${JSON.stringify(value)}`);
  return new Date(ms).toISOString();
}
