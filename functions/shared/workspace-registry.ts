/**
 * The Lambda entries' workspaces: the registry (`TABLE_NAME`) read through a short-lived cache
 * (`WORKSPACE_CACHE_SECONDS`, default 60), with one Databricks client per workspace kept while its
 * entry is unchanged. Replaces the `DATABRICKS_WORKSPACES` variable, which capped a deployment at
 * about 15 workspaces (4 KB of Lambda environment).
 */

import type { CredentialAccess } from '../core/workspace.ts';
import * as z from '../core/zod.ts';
import { syncWorkspaces, WorkspaceDirectory } from '../databricks/registry.ts';
import { type SecretsReader, WorkspaceClients } from '../databricks/workspaces.ts';
import { WorkspaceRepository } from '../store/workspaces.ts';
import { documentClient } from './aws-dynamodb.ts';
import { jsonEnv, requireEnv } from './env.ts';

export interface RegistryWorkspaces {
  readonly databricks: WorkspaceClients;
  readonly registry: WorkspaceRepository;
  readonly directory: WorkspaceDirectory;
  /** Brings `databricks` up to the cached registry; call at the start of every invocation. */
  readonly sync: () => Promise<void>;
}

export function registryWorkspaces(options: {
  readonly access: CredentialAccess;
  readonly secrets: SecretsReader;
  readonly logger: { warn(message: string, attributes: Record<string, unknown>): void };
}): RegistryWorkspaces {
  const registry = new WorkspaceRepository({ client: documentClient, tableName: requireEnv('TABLE_NAME') });
  const maxAgeSeconds = jsonEnv(
    'WORKSPACE_CACHE_SECONDS',
    z.number().check(z.int(), z.gte(0), z.lte(3600)),
    60,
  );
  const directory = new WorkspaceDirectory({
    registry,
    access: options.access,
    maxAgeMs: maxAgeSeconds * 1000,
  });
  const databricks = new WorkspaceClients({
    workspaces: [],
    secrets: options.secrets,
    logger: { warn: (message, attributes) => options.logger.warn(message, attributes ?? {}) },
  });
  return { databricks, registry, directory, sync: syncWorkspaces(directory, databricks) };
}
