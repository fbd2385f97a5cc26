/**
 * A Databricks workspace as the product knows it: its runtime configuration (`WorkspaceConfig`), the
 * registry entry an operator registers or the deployment seeds (`WorkspaceEntryInput`, stored as a
 * `WorkspaceEntry`) and the rules both obey. The registry's store (`functions/store/workspaces.ts`),
 * its cache (`functions/databricks/registry.ts`), the clients (`functions/databricks/workspaces.ts`),
 * the CDK context (`lib/config.ts`) and the seeding construct all take these from here.
 */
import { ConfigurationError, describeIssues } from './errors.ts';
import * as z from './zod.ts';

export const WorkspaceConfigSchema = z.strictObject({
  /** Stable id used in incident keys and tickets (e.g. the Databricks workspace id or a short name). */
  id: z
    .string()
    .check(
      z.trim(),
      z.minLength(1, 'must not be empty'),
      z.maxLength(64, 'must be at most 64 characters'),
      z.regex(/^[A-Za-z0-9._-]+$/, 'may contain only letters, digits, ".", "_" and "-"'),
    ),
  host: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).check(
    z.refine((value) => {
      const url = URL.parse(value);
      return (
        url === null ||
        url.protocol === 'https:' ||
        ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)
      );
    }, 'must use https (plain http only for a local simulator)'),
  ),
  credentialsSecretArn: z.string().check(z.trim(), z.minLength(1, 'must not be empty')),
  /**
   * The numeric id Databricks gives the workspace, which job notifications carry as `workspace_id`.
   * With it, notifications are matched to this workspace whatever its `id`.
   */
  databricksWorkspaceId: z.optional(
    z.pipe(
      z.union([
        z.string().check(z.regex(/^\d{1,20}$/, 'must be the numeric Databricks workspace id')),
        z.number().check(z.int(), z.positive()),
      ]),
      z.transform(String),
    ),
  ),
});
export type WorkspaceConfig = z.infer<typeof WorkspaceConfigSchema>;

interface WorkspaceIds {
  readonly id: string;
  readonly databricksWorkspaceId?: string | undefined;
}

/** The rules every list of workspaces obeys, whichever form it is configured in (context or environment). */
export function workspaceList<T extends z.ZodMiniType<WorkspaceIds>>(workspace: T) {
  return z.array(workspace).check(
    z.minLength(1, 'configure at least one workspace'),
    z.refine((list) => new Set(list.map((w) => w.id)).size === list.length, 'workspace ids must be unique'),
    z.refine((list) => {
      const declared = list.flatMap((w) =>
        w.databricksWorkspaceId === undefined ? [] : [w.databricksWorkspaceId],
      );
      return new Set(declared).size === declared.length;
    }, 'databricksWorkspaceId values must be unique'),
  );
}

export const WorkspacesConfigSchema = workspaceList(WorkspaceConfigSchema);

/** Validates the workspaces configuration (e.g. the parsed `DATABRICKS_WORKSPACES` JSON). */
export function parseWorkspacesConfig(value: unknown): WorkspaceConfig[] {
  const result = WorkspacesConfigSchema.safeParse(value);
  if (!result.success) {
    throw new ConfigurationError(
      `invalid workspaces configuration: ${describeIssues(result.error).join('; ')}`,
    );
  }
  return result.data;
}

/** Secrets Manager's own rule for secret names. */
export const SecretNameSchema = z
  .string()
  .check(
    z.trim(),
    z.minLength(1, 'must not be empty'),
    z.maxLength(512, 'must be at most 512 characters'),
    z.regex(/^[A-Za-z0-9/_+=.@-]+$/, 'may contain only letters, digits and /_+=.@-'),
  );

/** What an operator registers (and what the CDK context seeds). */
export const WorkspaceEntryInputSchema = z.extend(
  z.pick(WorkspaceConfigSchema, { id: true, host: true, databricksWorkspaceId: true }),
  {
    /** The acting credential (restarts clusters, repairs runs), read by the workflow, poller and operations. */
    credentialsSecretName: SecretNameSchema,
    /** A read-only credential the internet-facing intake reads with instead. */
    readOnlyCredentialsSecretName: z.optional(SecretNameSchema),
  },
);
export type WorkspaceEntryInput = z.output<typeof WorkspaceEntryInputSchema>;

/** A stored entry: the input plus where it came from. */
export interface WorkspaceEntry extends WorkspaceEntryInput {
  /** `context` (seeded at deployment from the CDK context) or `operator` (`rca workspaces add`). */
  readonly source: 'context' | 'operator';
  /** Absent on entries the deployment seeded. */
  readonly updatedAt?: string;
  readonly updatedBy: string;
}

/**
 * Secret names a function may read: the deployment grants `secretsmanager:GetSecretValue` on
 * `secret:<prefix>*`, so an entry whose secret lies outside could never be read. `readOnly` is the
 * narrower prefix the intake is granted when it reads with read-only credentials only.
 */
export interface SecretPrefixes {
  readonly acting: string;
  readonly readOnly?: string;
}

/** The problems of an entry's secret names under the deployment's prefixes (empty when fine). */
export function secretNameProblems(entry: WorkspaceEntryInput, prefixes: SecretPrefixes): string[] {
  const problems: string[] = [];
  if (!entry.credentialsSecretName.startsWith(prefixes.acting)) {
    problems.push(
      `credentialsSecretName: must start with '${prefixes.acting}', the prefix the functions may read`,
    );
  }
  const readOnly = entry.readOnlyCredentialsSecretName;
  if (prefixes.readOnly !== undefined) {
    if (readOnly === undefined) {
      problems.push(
        `readOnlyCredentialsSecretName: required, since the intake reads only secrets under '${prefixes.readOnly}'`,
      );
    } else if (!readOnly.startsWith(prefixes.readOnly)) {
      problems.push(`readOnlyCredentialsSecretName: must start with '${prefixes.readOnly}'`);
    }
  } else if (readOnly !== undefined && !readOnly.startsWith(prefixes.acting)) {
    problems.push(`readOnlyCredentialsSecretName: must start with '${prefixes.acting}'`);
  }
  return problems;
}

/** Which credential of a workspace a function uses: the acting one, or the read-only one where set. */
export type CredentialAccess = 'act' | 'read';

/** The runtime configuration of an entry for a function with `access`. */
export function workspaceConfig(entry: WorkspaceEntryInput, access: CredentialAccess): WorkspaceConfig {
  return {
    id: entry.id,
    host: entry.host,
    // GetSecretValue takes a name as well as an ARN.
    credentialsSecretArn:
      access === 'read'
        ? (entry.readOnlyCredentialsSecretName ?? entry.credentialsSecretName)
        : entry.credentialsSecretName,
    ...(entry.databricksWorkspaceId === undefined
      ? {}
      : { databricksWorkspaceId: entry.databricksWorkspaceId }),
  };
}
