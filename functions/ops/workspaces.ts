/**
 * `rca workspaces add|list|remove|check` on the operations API (`/ops/workspaces`): the workspace
 * registry's changes, audited in the operations log. A workspace is reached with its own credentials
 * before it is added (`force` stores it anyway), so that a typo in a host or a secret name is found
 * by the operator, not by the next poll.
 */
import type { APIGatewayProxyResult } from 'aws-lambda';
import { describeIssues } from '../core/errors.ts';
import type { WorkspaceConfig } from '../core/workspace.ts';
import {
  type SecretPrefixes,
  secretNameProblems,
  type WorkspaceEntry,
  type WorkspaceEntryInput,
  WorkspaceEntryInputSchema,
  workspaceConfig,
} from '../core/workspace.ts';
import { HttpError, jsonResponse, type ParsedEvent } from '../intake/http.ts';
import type { OperationsLog } from '../store/operations-log.ts';
import type { WorkspaceRepository } from '../store/workspaces.ts';
import { WorkspaceNotFoundError } from '../store/workspaces.ts';
import { type Check, workspaceCheck } from './doctor.ts';

/** The reads a check makes with the workspace's acting credential. */
export interface WorkspaceProbe {
  listClusters(query?: {
    page_size?: number;
  }): Promise<{ readonly clusters?: readonly { cluster_id: string }[] }>;
  listClusterEvents(request: { cluster_id: string; limit?: number }): Promise<unknown>;
}

export interface WorkspaceOpsDeps {
  readonly registry: Pick<WorkspaceRepository, 'list' | 'put' | 'remove'>;
  readonly log: Pick<OperationsLog, 'append'>;
  readonly prefixes: SecretPrefixes;
  /** A client for a workspace that may not be registered yet, with its acting credential. */
  readonly probe: (config: WorkspaceConfig) => WorkspaceProbe;
  /** Called after a change, so that this function's own cache sees it at once. */
  readonly changed?: () => Promise<unknown>;
}

export interface WorkspaceCheckResult {
  readonly workspaceId: string;
  readonly ok: boolean;
  readonly checks: readonly Check[];
}

/**
 * What the registry's credential can do, read without changing anything: list clusters (the poller's
 * call), read a cluster's events (its driver-loss and stuck checks). Permission to restart cannot be
 * probed without restarting; a 403 on the first recovery escalates it with the reason.
 */
export async function checkEntry(
  entry: WorkspaceEntryInput,
  deps: WorkspaceOpsDeps,
): Promise<WorkspaceCheckResult> {
  const client = deps.probe(workspaceConfig(entry, 'act'));
  const checks: Check[] = [];
  let first: string | undefined;
  try {
    const page = await client.listClusters({ page_size: 1 });
    first = page.clusters?.[0]?.cluster_id;
    checks.push(workspaceCheck(entry.id, undefined));
  } catch (error) {
    checks.push(workspaceCheck(entry.id, error));
  }
  if (first !== undefined) {
    try {
      await client.listClusterEvents({ cluster_id: first, limit: 1 });
      checks.push({
        name: `workspace ${entry.id}: events`,
        status: 'ok',
        detail: 'cluster events are readable',
      });
    } catch (error) {
      const check = workspaceCheck(entry.id, error);
      checks.push({
        ...check,
        name: `workspace ${entry.id}: events`,
        detail: `cluster events: ${check.detail}`,
      });
    }
  } else if (checks[0]?.status === 'ok') {
    checks.push({
      name: `workspace ${entry.id}: events`,
      status: 'warn',
      detail: 'the workspace lists no cluster, so reading cluster events could not be tried',
    });
  }
  return { workspaceId: entry.id, ok: checks.every((c) => c.status !== 'fail'), checks };
}

export async function listWorkspaces(deps: WorkspaceOpsDeps): Promise<WorkspaceEntry[]> {
  return [...(await deps.registry.list())].sort((a, b) => a.id.localeCompare(b.id));
}

export async function addWorkspace(
  body: unknown,
  actor: string,
  deps: WorkspaceOpsDeps,
): Promise<{ workspace: WorkspaceEntry; check: WorkspaceCheckResult }> {
  const { force, ...input } = (typeof body === 'object' && body !== null ? body : {}) as Record<
    string,
    unknown
  >;
  if (force !== undefined && typeof force !== 'boolean')
    throw new HttpError(400, 'force: must be true or false');
  const parsed = WorkspaceEntryInputSchema.safeParse(input);
  if (!parsed.success) throw new HttpError(400, describeIssues(parsed.error).join('; '));
  const entry = parsed.data;
  const problems = secretNameProblems(entry, deps.prefixes);
  if (problems.length > 0) throw new HttpError(400, problems.join('; '));
  const others = (await deps.registry.list()).filter((w) => w.id !== entry.id);
  const clash = others.find(
    (w) =>
      entry.databricksWorkspaceId !== undefined && w.databricksWorkspaceId === entry.databricksWorkspaceId,
  );
  if (clash !== undefined) {
    throw new HttpError(
      409,
      `databricksWorkspaceId ${entry.databricksWorkspaceId} already belongs to workspace '${clash.id}'`,
    );
  }
  const check = await checkEntry(entry, deps);
  if (!check.ok && force !== true) {
    const failed = check.checks.filter((c) => c.status === 'fail');
    throw new HttpError(
      422,
      `workspace '${entry.id}' not added: ${failed.map((c) => `${c.detail}${c.fix === undefined ? '' : ` (${c.fix})`}`).join('; ')}; add it anyway with force`,
    );
  }
  const workspace = await deps.registry.put(entry, { actor, source: 'operator' });
  await deps.log.append({
    event: 'workspace_added',
    actor,
    subject: entry.id,
    details: { host: entry.host },
  });
  await deps.changed?.();
  return { workspace, check };
}

export async function removeWorkspace(
  id: string,
  actor: string,
  deps: WorkspaceOpsDeps,
): Promise<WorkspaceEntry> {
  let removed: WorkspaceEntry;
  try {
    removed = await deps.registry.remove(id);
  } catch (error) {
    if (error instanceof WorkspaceNotFoundError) throw new HttpError(404, error.message);
    throw error;
  }
  await deps.log.append({ event: 'workspace_removed', actor, subject: id, details: { host: removed.host } });
  await deps.changed?.();
  return removed;
}

export async function checkWorkspace(id: string, deps: WorkspaceOpsDeps): Promise<WorkspaceCheckResult> {
  const entry = (await deps.registry.list()).find((w) => w.id === id);
  if (entry === undefined) throw new HttpError(404, `no workspace '${id}' is registered`);
  return checkEntry(entry, deps);
}

type Route = (event: ParsedEvent, actor: string) => Promise<APIGatewayProxyResult>;

/** The `/ops/workspaces` routes, registered beside the others by `createOpsHandler`. */
export function workspaceRoutes(deps: WorkspaceOpsDeps | undefined): Readonly<Record<string, Route>> {
  if (deps === undefined) return {};
  const id = (event: ParsedEvent) => event.pathParameters?.id ?? '';
  return {
    'GET /ops/workspaces': async () => jsonResponse(200, { workspaces: await listWorkspaces(deps) }),
    'POST /ops/workspaces': async (event, actor) =>
      jsonResponse(201, await addWorkspace(event.parsedBody, actor, deps)),
    'DELETE /ops/workspaces/{id}': async (event, actor) =>
      jsonResponse(200, { workspace: await removeWorkspace(id(event), actor, deps) }),
    'GET /ops/workspaces/{id}/check': async (event) =>
      jsonResponse(200, await checkWorkspace(id(event), deps)),
  };
}
