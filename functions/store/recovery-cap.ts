/**
 * The blast-radius cap: per workspace, one lease item holding a slot per recovery that may change
 * clusters, and their count. Every change is a conditional write, so the count and the slots never
 * disagree and the cap is never passed:
 *
 * | item  | pk             | sk          | attributes                                                      |
 * |-------|----------------|-------------|-----------------------------------------------------------------|
 * | lease | `RECOVERY_CAP` | `<ws>`      | `active` (number), `slot#<ticket>`: `{ executionName, acquiredAt, expiresAt }` |
 *
 * A slot names the execution that holds it (its name: the ARN is the state machine's plus the name)
 * and an expiry. It is given back by the workflow's Close or Escalate; a slot whose execution crashed,
 * was stopped or timed out is reclaimed by the poller's reconciler from the execution's status, and any
 * slot past its expiry by whoever looks — so a slot cannot leak.
 *
 * All leases live in one partition, so the reconciler reads them with one Query.
 */
import { type TransactWriteCommandInput, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import {
  capOf,
  type Lease,
  leaseSecondsFor,
  parseRecoveryCap,
  type RecoveryCapConfig,
  type Slot,
  type SlotRequest,
} from '../core/fleet.ts';
import { conditionHeld, type DocumentClient, isConditionalCheckFailed } from './dynamo.ts';
import { TableRepository } from './repository.ts';

const CAP_PK = 'RECOVERY_CAP';
const SLOT_PREFIX = 'slot#';

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

export function leaseKey(workspaceId: string): { pk: string; sk: string } {
  return { pk: CAP_PK, sk: workspaceId };
}

/**
 * The Update that takes a slot for `ticketId` if the workspace has fewer than `cap` active, as an
 * item of a TransactWriteItems (the ticket's own write). It fails its condition when the cap is
 * reached or the ticket already holds a slot (`ALL_OLD` says which).
 */
export function acquireSlotItem(
  tableName: string,
  request: SlotRequest,
  ticketId: string,
  executionName: string,
  now: number,
): TransactItem {
  return { Update: { TableName: tableName, ...acquireExpression(request, ticketId, executionName, now) } };
}

function acquireExpression(request: SlotRequest, ticketId: string, executionName: string, now: number) {
  const slot: Omit<Slot, 'ticketId'> = {
    executionName,
    acquiredAt: now,
    expiresAt: now + request.leaseSeconds * 1000,
  };
  return {
    Key: leaseKey(request.workspaceId),
    UpdateExpression: 'SET #slot = :slot, #active = if_not_exists(#active, :zero) + :one',
    ConditionExpression: '(attribute_not_exists(#active) OR #active < :cap) AND attribute_not_exists(#slot)',
    ExpressionAttributeNames: { '#slot': `${SLOT_PREFIX}${ticketId}`, '#active': 'active' },
    ExpressionAttributeValues: { ':slot': slot, ':zero': 0, ':one': 1, ':cap': request.cap },
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
  };
}

/** Whether a lease item (as a cancellation reason or a conditional failure returns it) holds the ticket's slot. */
export function holdsSlot(item: Record<string, unknown> | undefined, ticketId: string): boolean {
  return item !== undefined && `${SLOT_PREFIX}${ticketId}` in item;
}

export class RecoveryCapRepository extends TableRepository {
  /** Takes a slot: `acquired`, `held` (the ticket had one already) or `full` (the cap is reached). */
  async acquire(
    request: SlotRequest,
    ticketId: string,
    executionName: string,
  ): Promise<'acquired' | 'held' | 'full'> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          ...acquireExpression(request, ticketId, executionName, this.clock()),
        }),
      );
      return 'acquired';
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      const item = (error as { Item?: Record<string, unknown> }).Item;
      // The item comes back marshalled; only its attribute names matter here.
      return holdsSlot(item, ticketId) ? 'held' : 'full';
    }
  }

  /**
   * Gives the ticket's slot back; true when it held one (a second release is a no-op). With
   * `acquiredAt`, only the slot taken then (a reclaim never frees a slot the ticket took again since).
   */
  async release(workspaceId: string, ticketId: string, acquiredAt?: number): Promise<boolean> {
    return conditionHeld(
      this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: leaseKey(workspaceId),
          UpdateExpression: 'REMOVE #slot SET #active = #active - :one',
          ConditionExpression:
            acquiredAt === undefined ? 'attribute_exists(#slot)' : '#slot.#acquiredAt = :acquiredAt',
          ExpressionAttributeNames: {
            '#slot': `${SLOT_PREFIX}${ticketId}`,
            '#active': 'active',
            ...(acquiredAt === undefined ? {} : { '#acquiredAt': 'acquiredAt' }),
          },
          ExpressionAttributeValues: {
            ':one': 1,
            ...(acquiredAt === undefined ? {} : { ':acquiredAt': acquiredAt }),
          },
        }),
      ),
    );
  }

  /** Every workspace's lease (one Query). */
  async list(): Promise<Lease[]> {
    const items = await this.readPartition(CAP_PK, { consistent: true });
    return items.map(leaseOf);
  }

  /** The lease of one workspace (empty when nothing was ever acquired). */
  async get(workspaceId: string): Promise<Lease> {
    const lease = (await this.list()).find((l) => l.workspaceId === workspaceId);
    return lease ?? { workspaceId, active: 0, slots: [] };
  }
}

function leaseOf(item: Record<string, unknown>): Lease {
  const slots: Slot[] = [];
  for (const [name, value] of Object.entries(item)) {
    if (!name.startsWith(SLOT_PREFIX)) continue;
    const slot = value as Omit<Slot, 'ticketId'>;
    slots.push({
      ticketId: name.slice(SLOT_PREFIX.length),
      executionName: String(slot.executionName),
      acquiredAt: Number(slot.acquiredAt),
      expiresAt: Number(slot.expiresAt),
    });
  }
  slots.sort((a, b) => a.acquiredAt - b.acquiredAt);
  return { workspaceId: String(item.sk), active: Number(item.active ?? 0), slots };
}

/** The cap's configuration and its leases together: what the intake, the reconciler and `rca` use. */
export class RecoveryCap {
  readonly repository: RecoveryCapRepository;
  readonly config: RecoveryCapConfig;

  constructor(repository: RecoveryCapRepository, config: RecoveryCapConfig) {
    this.repository = repository;
    this.config = config;
  }

  capOf(workspaceId: string): number {
    return capOf(this.config, workspaceId);
  }

  /** The slot a recovery of this workspace with this playbook asks for. */
  request(workspaceId: string, playbook: Parameters<typeof leaseSecondsFor>[0]): SlotRequest {
    return { workspaceId, cap: this.capOf(workspaceId), leaseSeconds: leaseSecondsFor(playbook) };
  }

  acquire(
    request: SlotRequest,
    ticketId: string,
    executionName: string,
  ): Promise<'acquired' | 'held' | 'full'> {
    return this.repository.acquire(request, ticketId, executionName);
  }

  release(workspaceId: string, ticketId: string, acquiredAt?: number): Promise<boolean> {
    return this.repository.release(workspaceId, ticketId, acquiredAt);
  }

  list(): Promise<Lease[]> {
    return this.repository.list();
  }
}

/**
 * The cap of a deployment: its leases in the table, its configuration from `RECOVERY_CAP` (JSON), its
 * slots' times from `clock` (local mode: the simulator's). @default Date.now
 */
export function recoveryCapOf(
  client: DocumentClient,
  tableName: string,
  raw: string | undefined,
  clock?: () => number,
): RecoveryCap {
  return new RecoveryCap(new RecoveryCapRepository({ client, tableName, clock }), parseRecoveryCap(raw));
}
