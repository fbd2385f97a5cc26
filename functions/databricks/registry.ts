/**
 * The workspace registry's entries and the short-lived cache functions read them through. The
 * registry (DynamoDB, `functions/store/workspaces.ts`) is the source of truth at run time; a function
 * holds what it read for `maxAgeMs` (Powertools Parameters' `maxAge`, the same idea) and then reads
 * it again, so a workspace added or removed with `rca workspaces` reaches every warm function within
 * that time, without a deployment.
 */
import {
  type CredentialAccess,
  type WorkspaceConfig,
  type WorkspaceEntryInput,
  workspaceConfig,
} from '../core/workspace.ts';

/** The registry's one read the cache makes. */
export interface WorkspaceLister {
  list(): Promise<readonly WorkspaceEntryInput[]>;
}

export interface WorkspaceDirectoryOptions {
  readonly registry: WorkspaceLister;
  readonly access: CredentialAccess;
  /** How long a read is used before the next. @default 60_000 */
  readonly maxAgeMs?: number;
  /** @default Date.now */
  readonly clock?: () => number;
}

/** The registry through a cache: one Query per `maxAgeMs` and warm function, whatever the traffic. */
export class WorkspaceDirectory {
  readonly #options: WorkspaceDirectoryOptions;
  #value: { readonly at: number; readonly configs: readonly WorkspaceConfig[] } | undefined;
  #pending: Promise<readonly WorkspaceConfig[]> | undefined;

  constructor(options: WorkspaceDirectoryOptions) {
    this.#options = options;
  }

  /** The registered workspaces, read again when the cached read is older than `maxAgeMs`. */
  async current(): Promise<readonly WorkspaceConfig[]> {
    const now = (this.#options.clock ?? Date.now)();
    const cached = this.#value;
    if (cached !== undefined && now - cached.at < (this.#options.maxAgeMs ?? 60_000)) return cached.configs;
    try {
      return await this.refresh();
    } catch (error) {
      // A registry that cannot be read for a moment leaves the last read in use; only a function
      // that never read it has nothing to work with.
      if (cached !== undefined) return cached.configs;
      throw error;
    }
  }

  /** Reads the registry now (concurrent callers share one read). */
  async refresh(): Promise<readonly WorkspaceConfig[]> {
    if (this.#pending !== undefined) return this.#pending;
    const read = (async () => {
      const entries = await this.#options.registry.list();
      const configs = entries.map((entry) => workspaceConfig(entry, this.#options.access));
      this.#value = { at: (this.#options.clock ?? Date.now)(), configs };
      return configs;
    })();
    this.#pending = read;
    try {
      return await read;
    } finally {
      this.#pending = undefined;
    }
  }
}

/** Brings `clients` up to the directory's current workspaces (a cached read; see WorkspaceDirectory). */
export function syncWorkspaces(
  directory: Pick<WorkspaceDirectory, 'current'>,
  clients: { replace(workspaces: readonly WorkspaceConfig[]): void },
): () => Promise<void> {
  return async () => clients.replace(await directory.current());
}

/**
 * A Lambda handler that first brings its workspaces up to date. When the registry cannot be read and
 * was never read, `unavailable` answers (an API's 503), else the error propagates (a Task's retry).
 */
export function withWorkspaces<E, C, R>(
  sync: () => Promise<void>,
  handler: (event: E, context: C) => Promise<R>,
  unavailable?: (error: unknown) => R,
): (event: E, context: C) => Promise<R> {
  return async (event, context) => {
    try {
      await sync();
    } catch (error) {
      if (unavailable === undefined) throw error;
      return unavailable(error);
    }
    return handler(event, context);
  };
}

/** The 503 an API answers while the registry cannot be read: a transient fault worth redelivering. */
export function registryUnavailableResponse(): {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
} {
  return {
    statusCode: 503,
    headers: { 'content-type': 'application/json', 'retry-after': '5' },
    body: JSON.stringify({ status: 'error', message: 'the workspace registry cannot be read; try again' }),
  };
}
