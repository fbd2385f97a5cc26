/**
 * `rca workspaces add|list|remove|check`: the workspace registry on the operations API. A workspace
 * added here is polled from the next run on and accepted by the intake within a minute (the
 * functions' cache), without a deployment.
 */
import {
  type CheckRow,
  checkLines,
  command,
  print,
  tableOrNone,
  usageError,
  type Values,
} from './command.ts';
import type { CliIo } from './main.ts';
import { EXIT, type OpsConnection, opsRequest } from './ops-client.ts';

const SYNOPSIS = `rca workspaces list
       rca workspaces add --id ID --host URL --secret NAME [--read-only-secret NAME] [--databricks-id N] [--force]
       rca workspaces check ID
       rca workspaces remove ID

  add      checks the workspace with its credentials (clusters list, cluster events) and registers it;
           --force registers it even when the check fails. --secret names the Secrets Manager secret
           of its acting credential, under the deployment's prefix (default databricks/).`;

interface WorkspaceRow {
  id: string;
  host: string;
  credentialsSecretName: string;
  readOnlyCredentialsSecretName?: string;
  databricksWorkspaceId?: string;
  source: string;
  updatedAt?: string;
}

export const workspacesCommand = command(
  'workspaces',
  {
    id: { type: 'string' },
    host: { type: 'string' },
    secret: { type: 'string' },
    'read-only-secret': { type: 'string' },
    'databricks-id': { type: 'string' },
    force: { type: 'boolean' },
  },
  async (positionals, values, connection, io) => {
    const [action, id] = positionals;
    const named = () => id ?? usageError(`name the workspace: rca workspaces ${action} ID`);
    switch (action) {
      case 'list':
      case undefined: {
        const { workspaces } = await opsRequest<{ workspaces: WorkspaceRow[] }>(
          connection,
          'GET',
          '/workspaces',
        );
        print(io, values, { workspaces }, () =>
          tableOrNone(
            workspaces,
            'no workspace is registered: add one with rca workspaces add\n',
            ['ID', 'HOST', 'SECRET', 'READ-ONLY SECRET', 'SOURCE'],
            (w) => [w.id, w.host, w.credentialsSecretName, w.readOnlyCredentialsSecretName, w.source],
          ),
        );
        return EXIT.ok;
      }
      case 'add':
        return addWorkspace(connection, io, values);
      case 'check': {
        const result = await opsRequest<{ ok: boolean; checks: CheckRow[] }>(
          connection,
          'GET',
          `/workspaces/${encodeURIComponent(named())}/check`,
        );
        print(io, values, result, () => checkLines(result.checks));
        return result.ok ? EXIT.ok : EXIT.failed;
      }
      case 'remove': {
        const { workspace } = await opsRequest<{ workspace: WorkspaceRow }>(
          connection,
          'DELETE',
          `/workspaces/${encodeURIComponent(named())}`,
        );
        print(
          io,
          values,
          { workspace },
          () =>
            `removed workspace ${workspace.id}; it is no longer polled, and its open tickets stay as they are\n`,
        );
        return EXIT.ok;
      }
      default:
        return usageError(`unknown action '${action}': list, add, check or remove`);
    }
  },
  SYNOPSIS,
);

/** `rca workspaces add`: the API checks the workspace with its credentials and registers it (or refuses). */
async function addWorkspace(connection: OpsConnection, io: CliIo, values: Values): Promise<number> {
  if (values.id === undefined || values.host === undefined || values.secret === undefined)
    usageError('rca workspaces add needs --id, --host and --secret');
  const added = await opsRequest<{ workspace: WorkspaceRow; check: { checks: CheckRow[] } }>(
    connection,
    'POST',
    '/workspaces',
    {
      body: {
        id: values.id,
        host: values.host,
        credentialsSecretName: values.secret,
        ...(values['read-only-secret'] === undefined
          ? {}
          : { readOnlyCredentialsSecretName: values['read-only-secret'] }),
        ...(values['databricks-id'] === undefined ? {} : { databricksWorkspaceId: values['databricks-id'] }),
        ...(values.force === true ? { force: true } : {}),
      },
    },
  );
  print(
    io,
    values,
    added,
    () =>
      `added workspace ${added.workspace.id} (${added.workspace.host}); the next poll covers it\n${checkLines(added.check.checks)}`,
  );
  return EXIT.ok;
}
