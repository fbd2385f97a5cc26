import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { compact } from '../core/json.ts';
import {
  type WorkspaceEntry,
  type WorkspaceEntryInput,
  WorkspaceEntryInputSchema,
} from '../core/workspace.ts';
import * as z from '../core/zod.ts';
import { isConditionalCheckFailed, parseItem } from './dynamo.ts';
import { TableRepository } from './repository.ts';

const PK = 'WORKSPACES';
const sk = (id: string) => `WORKSPACE#${id}`;

export class WorkspaceNotFoundError extends Error {
  override readonly name = 'WorkspaceNotFoundError';
}

/**
 * The workspace registry: one item per workspace in one partition (`WORKSPACES` / `WORKSPACE#<id>`),
 * so that the whole registry is one Query (100 workspaces are about 30 KB: one page).
 */
export class WorkspaceRepository extends TableRepository {
  /** Every registered workspace, ordered by id. */
  async list(): Promise<WorkspaceEntry[]> {
    const items = await this.readPartition(PK, { consistent: false });
    return items.map((item) => parseItem(WorkspaceItemSchema, item, 'workspace entry'));
  }

  async get(id: string): Promise<WorkspaceEntry | undefined> {
    return (await this.list()).find((entry) => entry.id === id);
  }

  /** Adds or replaces the entry of `entry.id`. */
  async put(
    entry: WorkspaceEntryInput,
    by: { readonly actor: string; readonly source: WorkspaceEntry['source'] },
  ): Promise<WorkspaceEntry> {
    const stored: WorkspaceEntry = compact({
      ...entry,
      source: by.source,
      updatedAt: new Date(this.clock()).toISOString(),
      updatedBy: by.actor,
    });
    await this.client.send(
      new PutCommand({ TableName: this.tableName, Item: { ...stored, pk: PK, sk: sk(entry.id) } }),
    );
    return stored;
  }

  /** Removes a workspace and returns what it was; WorkspaceNotFoundError when there is none. */
  async remove(id: string): Promise<WorkspaceEntry> {
    try {
      const { Attributes } = await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pk: PK, sk: sk(id) },
          ConditionExpression: 'attribute_exists(pk)',
          ReturnValues: 'ALL_OLD',
        }),
      );
      return parseItem(WorkspaceItemSchema, Attributes ?? {}, 'workspace entry');
    } catch (error) {
      if (isConditionalCheckFailed(error))
        throw new WorkspaceNotFoundError(`no workspace '${id}' is registered`);
      throw error;
    }
  }
}

/** The key of a registry item, as the deployment's seeding writes it (`lib/constructs/workspace-registry.ts`). */
export function workspaceItemKey(id: string): { readonly pk: string; readonly sk: string } {
  return { pk: PK, sk: sk(id) };
}

/** A stored entry: what an operator registers, checked again, and where it came from. */
const WorkspaceItemSchema: z.ZodMiniType<WorkspaceEntry> = z.looseObject({
  ...WorkspaceEntryInputSchema.shape,
  source: z.enum(['context', 'operator']),
  updatedAt: z.optional(z.string()),
  updatedBy: z.string(),
} satisfies Record<keyof WorkspaceEntry, z.ZodMiniType>);
