import { type DynamoDBDocumentClient, QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { describeIssues } from '../core/errors.ts';
import type * as z from '../core/zod.ts';

/** The one method the repositories use, so tests and callers can pass any configured client. */
export type DocumentClient = Pick<DynamoDBDocumentClient, 'send'>;

/** Key attributes the repositories add to stored items and strip again when reading. */
export const KEY_ATTRIBUTES = ['pk', 'sk', 'gsi1pk', 'gsi1sk', 'expires_at'] as const;

export function isConditionalCheckFailed(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

/**
 * The cancellation reason codes of a cancelled TransactWriteItems, one per action in request order
 * (`'None'` for actions that were fine), or undefined when the error is something else.
 */
/** Awaits a conditional write: true when it was applied, false when its condition did not hold. */
export async function conditionHeld(write: Promise<unknown>): Promise<boolean> {
  try {
    await write;
    return true;
  } catch (error) {
    if (isConditionalCheckFailed(error)) return false;
    throw error;
  }
}

export function cancellationCodes(error: unknown): readonly string[] | undefined {
  if (!(error instanceof Error) || error.name !== 'TransactionCanceledException') return undefined;
  const reasons = (error as { CancellationReasons?: readonly { Code?: string }[] }).CancellationReasons ?? [];
  return reasons.map((reason) => reason.Code ?? 'None');
}

/** The cancellation reasons of a cancelled TransactWriteItems (with the item when asked for), or undefined. */
export function cancellationReasons(
  error: unknown,
): readonly { readonly Code?: string; readonly Item?: Record<string, unknown> }[] | undefined {
  if (!(error instanceof Error) || error.name !== 'TransactionCanceledException') return undefined;
  return (
    (error as { CancellationReasons?: { Code?: string; Item?: Record<string, unknown> }[] })
      .CancellationReasons ?? []
  );
}

/** Strips the table's key attributes from a stored item. */
export function withoutKeys(item: Record<string, unknown>): Record<string, unknown> {
  const rest: Record<string, unknown> = { ...item };
  for (const key of KEY_ATTRIBUTES) delete rest[key];
  return rest;
}

/**
 * A stored item that does not have the shape its repository writes: named by its key and its bad
 * fields, at the read, instead of a wrong value failing somewhere later.
 */
export class CorruptItemError extends Error {
  override readonly name = 'CorruptItemError';
  readonly key: { readonly pk: string; readonly sk: string };
  readonly issues: readonly string[];
  constructor(what: string, item: Record<string, unknown>, issues: readonly string[]) {
    const key = { pk: String(item.pk), sk: String(item.sk) };
    super(`stored ${what} ${key.pk} / ${key.sk} is corrupt: ${issues.join('; ')}`);
    this.key = key;
    this.issues = issues;
  }
}

/** A stored item without its key attributes, parsed with the repository's schema (CorruptItemError if it does not fit). */
export function parseItem<T>(schema: z.ZodMiniType<T>, item: Record<string, unknown>, what: string): T {
  const result = schema.safeParse(withoutKeys(item));
  if (!result.success) throw new CorruptItemError(what, item, describeIssues(result.error));
  return result.data;
}

/** A random delay that grows with the attempt, so competing writers stop colliding. */
export function backoffMs(attempt: number, capMs = 200): number {
  return Math.random() * Math.min(capMs, 5 * 2 ** attempt);
}

/** An opaque pagination cursor wrapping a LastEvaluatedKey. */
export function encodeCursor(key: Record<string, unknown> | undefined): string | undefined {
  return key === undefined ? undefined : Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string | undefined): Record<string, unknown> | undefined {
  if (cursor === undefined) return undefined;
  try {
    const key: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (typeof key === 'object' && key !== null && !Array.isArray(key)) return key as Record<string, unknown>;
  } catch {
    // Fall through to the error below.
  }
  throw new InvalidCursorError('the cursor is not one this API returned; start again without it');
}

export class InvalidCursorError extends Error {
  override readonly name = 'InvalidCursorError';
}

/**
 * Every item a Query returns, page after page (`LastEvaluatedKey`), in the Query's order; with
 * `limit`, it stops once that many are read (and asks each page for no more than are still wanted).
 */
export async function queryAll(
  client: DocumentClient,
  input: Omit<QueryCommandInput, 'ExclusiveStartKey' | 'Limit'>,
  limit?: number,
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await client.send(
      new QueryCommand({
        ...input,
        ExclusiveStartKey: startKey,
        ...(limit === undefined ? {} : { Limit: limit - items.length }),
      }),
    );
    items.push(...(page.Items ?? []));
    startKey = limit !== undefined && items.length >= limit ? undefined : page.LastEvaluatedKey;
  } while (startKey !== undefined);
  return limit === undefined ? items : items.slice(0, limit);
}
