/**
 * Several workspaces, each `{ id, host, credentialsSecretArn }`. A client per workspace is built on
 * first use; its credentials are read from Secrets Manager (injected client) lazily and re-read
 * after a 401, so a rotated secret is picked up by a warm Lambda.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { parseWorkspacesConfig, type WorkspaceConfig } from '../core/workspace.ts';
import { type AuthProvider, authFromCredentials, lazyAuth, parseWorkspaceCredentials } from './auth.ts';
import { DatabricksClient, type DatabricksClientOptions } from './client.ts';
import { DatabricksCredentialsError } from './errors.ts';
import type { Clock } from './retry.ts';

/** The one Secrets Manager call used; satisfied by `SecretsManagerClient`. */
export type SecretsReader = Pick<SecretsManagerClient, 'send'>;

export interface WorkspaceClientsOptions extends Omit<DatabricksClientOptions, 'host' | 'auth' | 'clock'> {
  readonly workspaces: readonly WorkspaceConfig[];
  readonly secrets: SecretsReader;
  readonly clock?: Clock;
  /** Refresh OAuth tokens this long before they expire. @default 60_000 */
  readonly tokenRefreshMarginMs?: number;
}

export class UnknownWorkspaceError extends Error {
  override readonly name = 'UnknownWorkspaceError';
}

/** Databricks workspace id → configured id, for the workspaces that declare `databricksWorkspaceId`. */
export function workspaceAliases(workspaces: readonly WorkspaceConfig[]): Record<string, string> {
  return Object.fromEntries(
    workspaces.flatMap((w) =>
      w.databricksWorkspaceId === undefined ? [] : [[w.databricksWorkspaceId, w.id]],
    ),
  );
}

/**
 * One DatabricksClient per configured workspace. The set can be replaced at run time (`replace`, from
 * the registry's cache): `ids()` and `aliases()` are live views, updated in place, so a caller that
 * kept them at cold start sees the current workspaces.
 */
export class WorkspaceClients {
  private configs: ReadonlyMap<string, WorkspaceConfig>;
  private readonly clients = new Map<string, DatabricksClient>();
  private readonly options: WorkspaceClientsOptions;
  private readonly idsView: string[] = [];
  private readonly aliasesView: Record<string, string> = {};

  constructor(options: WorkspaceClientsOptions) {
    this.options = options;
    this.configs = new Map();
    // An empty list is allowed here: a registry may be empty for a moment (before its seeding).
    if (options.workspaces.length > 0) this.replace(parseWorkspacesConfig(options.workspaces));
  }

  /**
   * Makes `workspaces` the configured set. A client whose workspace is gone or changed (host,
   * credential) is dropped; the others, with their credentials and tokens, are kept.
   */
  replace(workspaces: readonly WorkspaceConfig[]): void {
    const next = new Map(workspaces.map((w) => [w.id, w]));
    for (const [id, config] of this.configs) {
      const now = next.get(id);
      if (
        now === undefined ||
        now.host !== config.host ||
        now.credentialsSecretArn !== config.credentialsSecretArn
      )
        this.clients.delete(id);
    }
    this.configs = next;
    this.idsView.splice(0, this.idsView.length, ...next.keys());
    for (const key of Object.keys(this.aliasesView)) delete this.aliasesView[key];
    Object.assign(this.aliasesView, workspaceAliases(workspaces));
  }

  /** The configured ids: a live view (see the class). */
  ids(): string[] {
    return this.idsView;
  }

  /** Databricks workspace id → configured id, for the workspaces that declare theirs (a live view). */
  aliases(): Record<string, string> {
    return this.aliasesView;
  }

  /** The configuration of a workspace, if it is configured. */
  config(workspaceId: string): WorkspaceConfig | undefined {
    return this.configs.get(workspaceId);
  }

  /** The client of a workspace; throws UnknownWorkspaceError for an id that is not configured. */
  get(workspaceId: string): DatabricksClient {
    const existing = this.clients.get(workspaceId);
    if (existing) return existing;
    const config = this.configs.get(workspaceId);
    if (!config) throw new UnknownWorkspaceError(`workspace '${workspaceId}' is not configured`);
    const { workspaces: _w, secrets: _s, tokenRefreshMarginMs, ...clientOptions } = this.options;
    const client = new DatabricksClient({
      ...clientOptions,
      host: config.host,
      auth: this.secretAuth(config, tokenRefreshMarginMs),
    });
    this.clients.set(workspaceId, client);
    return client;
  }

  private secretAuth(config: WorkspaceConfig, refreshMarginMs: number | undefined): AuthProvider {
    const { secrets, fetch, clock } = this.options;
    return lazyAuth(async () => {
      let secretString: string | undefined;
      try {
        const answer = await secrets.send(
          new GetSecretValueCommand({ SecretId: config.credentialsSecretArn }),
        );
        secretString = answer.SecretString;
      } catch (error) {
        throw new DatabricksCredentialsError(
          `cannot read the credentials secret of workspace '${config.id}': ${(error as Error).name}`,
          'auth',
          { cause: error },
        );
      }
      const credentials = parseWorkspaceCredentials(secretString, `of workspace '${config.id}'`);
      return authFromCredentials(credentials, {
        host: config.host,
        ...(fetch ? { fetch } : {}),
        ...(clock ? { clock } : {}),
        ...(refreshMarginMs === undefined ? {} : { refreshMarginMs }),
      });
    });
  }
}
