import { Annotations } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { type RecoveryCapConfig, RecoveryCapConfigSchema } from '../functions/core/fleet.ts';
import { type OutageConfig, OutageConfigSchema } from '../functions/core/outage.ts';
import {
  SecretNameSchema,
  WorkspaceConfigSchema,
  type WorkspaceEntryInput,
  workspaceList,
} from '../functions/core/workspace.ts';
import * as z from '../functions/core/zod.ts';

/**
 * A Databricks workspace as the operator configures it in CDK context. The credentials secret is
 * created by the operator, outside this app, so a token or client secret never passes through code,
 * templates or context: the app only learns the secret's name.
 */
export interface WorkspaceContext {
  /** Stable id used in incident keys, tickets and `POST /databricks-monitor/{workspace}`. */
  readonly id: string;
  /** The workspace URL, `https://<deployment>.cloud.databricks.com`. */
  readonly host: string;
  /**
   * Name of the Secrets Manager secret holding the workspace's acting credential (PAT or OAuth M2M):
   * the one that restarts clusters and repairs runs. Read by the workflow and the poller.
   */
  readonly credentialsSecretName: string;
  /**
   * Name of a secret holding a read-only credential of the same workspace (clusters and job runs
   * readable, nothing manageable), for the internet-facing intake, which only reads. Without it, the
   * intake reads with the acting credential.
   */
  readonly readOnlyCredentialsSecretName?: string | undefined;
  /** The numeric id Databricks gives the workspace, carried by job notifications as `workspace_id`. */
  readonly databricksWorkspaceId?: string | undefined;
}

/** Deployment configuration read from CDK context (`cdk.json` or `cdk synth -c key=value`). */
export interface RecoveryConfig {
  /** The workspaces the intake accepts signals for and the automation may act on. */
  readonly databricksWorkspaces: readonly WorkspaceContext[];
  /** True when no workspace was configured and {@link EXAMPLE_WORKSPACE} stands in for one. */
  readonly exampleWorkspace: boolean;
  /** `AUTO_REMEDIATION_ENABLED`; unset keeps the function's default (on). */
  readonly autoRemediationEnabled?: boolean;
  /** Playbook overrides keyed by error type, validated by the intake construct. */
  readonly playbookOverrides?: Readonly<Record<string, unknown>>;
  /** Circuit breaker settings, validated by the intake construct. */
  readonly breakerConfig?: Readonly<Record<string, number>>;
  /** Whether the stack sets the account's API Gateway CloudWatch role; unset keeps the construct's default. */
  readonly apiGatewayCloudWatchRole?: boolean;
  /** Name of a secret holding a Slack incoming webhook URL; unset sends notifications to SNS only. */
  readonly slackWebhookSecretName?: string;
  /** Minutes between two poller runs; unset keeps the construct's default (5). */
  readonly pollIntervalMinutes?: number;
  /** Whether the API gets its AWS WAF web ACL; unset keeps the construct's default (on). */
  readonly wafEnabled?: boolean;
  /** Requests per 5 minutes one IP address may send before WAF blocks it; unset keeps the default. */
  readonly wafRateLimit?: number;
  /** Whether tickets, logs and the topic's key outlive the stack; unset keeps the default (retained). */
  readonly retainData?: boolean;
  /** The prefix of every Databricks credentials secret name; unset keeps the default (`databricks/`). */
  readonly databricksSecretPrefix?: string;
  /** The prefix of the read-only credentials, the only secrets the intake may then read; unset: none. */
  readonly databricksReadOnlySecretPrefix?: string;
  /** The blast-radius cap (`RECOVERY_CAP`): recoveries per workspace at once; unset keeps 5 for each. */
  readonly recoveryCap?: RecoveryCapConfig;
  /** Outage correlation (`OUTAGE_CORRELATION`); unset keeps 5 failures of one class within 10 minutes. */
  readonly outageCorrelation?: OutageConfig;
}

/** The context keys this app reads. */
export const CONTEXT_KEYS = {
  workspaces: 'databricksWorkspaces',
  autoRemediationEnabled: 'autoRemediationEnabled',
  playbookOverrides: 'playbookOverrides',
  breakerConfig: 'breakerConfig',
  apiGatewayCloudWatchRole: 'apiGatewayCloudWatchRole',
  slackWebhookSecretName: 'slackWebhookSecretName',
  pollIntervalMinutes: 'pollIntervalMinutes',
  wafEnabled: 'wafEnabled',
  wafRateLimit: 'wafRateLimit',
  retainData: 'retainData',
  databricksSecretPrefix: 'databricksSecretPrefix',
  databricksReadOnlySecretPrefix: 'databricksReadOnlySecretPrefix',
  recoveryCap: 'recoveryCap',
  outageCorrelation: 'outageCorrelation',
} as const;

/**
 * Stands in when no workspace is configured, so that `cdk synth` works offline on a fresh checkout.
 * Its secret does not exist: a deployment with it accepts signals but cannot call Databricks.
 */
export const EXAMPLE_WORKSPACE: WorkspaceContext = {
  id: 'example',
  host: 'https://example.cloud.databricks.com',
  credentialsSecretName: 'databricks/example',
};

const WorkspaceContextSchema = z
  .extend(
    z.pick(WorkspaceConfigSchema, {
      id: true,
      host: true,
      databricksWorkspaceId: true,
    }),
    {
      credentialsSecretName: SecretNameSchema,
      readOnlyCredentialsSecretName: z.optional(SecretNameSchema),
    },
  )
  .check(
    z.refine((workspace) => !/^http:\/\/(localhost|127\.0\.0\.1|\[::1\])([:/]|$)/.test(workspace.host), {
      path: ['host'],
      message: 'must use https: the function runs in AWS and cannot reach a local simulator',
    }),
  );

const WorkspacesContextSchema = workspaceList(WorkspaceContextSchema);

// WAF's own bounds for a rate-based rule's limit per 5-minute window.
const WafRateLimitSchema = z.pipe(
  z.union([z.number(), z.pipe(z.string().check(z.regex(/^\d+$/)), z.transform(Number))]),
  z.number().check(z.int('must be a whole number'), z.gte(100, 'must be at least 100'), z.lte(2_000_000_000)),
);

const BooleanContextSchema = z.union([
  z.boolean(),
  z.pipe(
    z.enum(['true', 'false']),
    z.transform((value) => value === 'true'),
  ),
]);

const ObjectContextSchema = z.record(z.string(), z.unknown());

const BreakerContextSchema = z.record(z.string(), z.number());

const PollIntervalSchema = z.pipe(
  z.union([z.number(), z.pipe(z.string().check(z.regex(/^\d+$/)), z.transform(Number))]),
  z
    .number()
    .check(
      z.int('must be a whole number of minutes'),
      z.gte(1, 'must be at least 1 minute'),
      z.lte(60, 'must be at most 60 minutes'),
    ),
);

/**
 * Reads and validates the deployment configuration from the CDK context of `scope`. Values given
 * with `-c key=value` arrive as strings, so objects and arrays may also be JSON text. Throws an
 * error naming the context key and the offending field.
 */
export function readRecoveryConfig(scope: Construct): RecoveryConfig {
  const workspaces = contextValue(scope, CONTEXT_KEYS.workspaces, WorkspacesContextSchema);
  return {
    databricksWorkspaces: workspaces ?? [EXAMPLE_WORKSPACE],
    exampleWorkspace: workspaces === undefined,
    autoRemediationEnabled: contextValue(scope, CONTEXT_KEYS.autoRemediationEnabled, BooleanContextSchema),
    playbookOverrides: contextValue(scope, CONTEXT_KEYS.playbookOverrides, ObjectContextSchema),
    breakerConfig: contextValue(scope, CONTEXT_KEYS.breakerConfig, BreakerContextSchema),
    apiGatewayCloudWatchRole: contextValue(
      scope,
      CONTEXT_KEYS.apiGatewayCloudWatchRole,
      BooleanContextSchema,
    ),
    slackWebhookSecretName: contextValue(scope, CONTEXT_KEYS.slackWebhookSecretName, SecretNameSchema),
    pollIntervalMinutes: contextValue(scope, CONTEXT_KEYS.pollIntervalMinutes, PollIntervalSchema),
    wafEnabled: contextValue(scope, CONTEXT_KEYS.wafEnabled, BooleanContextSchema),
    wafRateLimit: contextValue(scope, CONTEXT_KEYS.wafRateLimit, WafRateLimitSchema),
    retainData: contextValue(scope, CONTEXT_KEYS.retainData, BooleanContextSchema),
    databricksSecretPrefix: contextValue(scope, CONTEXT_KEYS.databricksSecretPrefix, SecretNameSchema),
    databricksReadOnlySecretPrefix: contextValue(
      scope,
      CONTEXT_KEYS.databricksReadOnlySecretPrefix,
      SecretNameSchema,
    ),
    recoveryCap: contextValue(scope, CONTEXT_KEYS.recoveryCap, RecoveryCapConfigSchema),
    outageCorrelation: contextValue(scope, CONTEXT_KEYS.outageCorrelation, OutageConfigSchema),
  };
}

/**
 * The configured workspaces as the registry's seed (written at deployment, see
 * `lib/constructs/workspace-registry.ts`). Notes in the synthesis output when the example workspace
 * stands in for a real one.
 */
export function seedWorkspaces(scope: Construct, config: RecoveryConfig): WorkspaceEntryInput[] {
  if (config.exampleWorkspace) {
    // Info, not a warning: a fresh checkout must synthesise cleanly, also with --strict.
    Annotations.of(scope).addInfo(
      `No Databricks workspace configured: using the example workspace '${EXAMPLE_WORKSPACE.id}', which cannot be reached. Set the context ${CONTEXT_KEYS.workspaces} in cdk.json or with -c to [{"id": "...", "host": "https://...", "credentialsSecretName": "..."}], or add workspaces with rca workspaces add.`,
    );
  }
  const actingOnly = config.databricksWorkspaces.filter((w) => w.readOnlyCredentialsSecretName === undefined);
  if (actingOnly.length > 0 && !config.exampleWorkspace) {
    Annotations.of(scope).addInfo(
      `Workspace${actingOnly.length === 1 ? '' : 's'} ${actingOnly.map((w) => w.id).join(', ')} without readOnlyCredentialsSecretName: the internet-facing intake reads ${actingOnly.length === 1 ? 'it' : 'them'} with the acting credential, which can also restart clusters. See docs/deploy.md, "Databricks credentials".`,
    );
  }
  return config.databricksWorkspaces.map((workspace) => ({
    id: workspace.id,
    host: workspace.host,
    credentialsSecretName: workspace.credentialsSecretName,
    ...(workspace.readOnlyCredentialsSecretName === undefined
      ? {}
      : { readOnlyCredentialsSecretName: workspace.readOnlyCredentialsSecretName }),
    ...(workspace.databricksWorkspaceId === undefined
      ? {}
      : { databricksWorkspaceId: workspace.databricksWorkspaceId }),
  }));
}

function contextValue<T extends z.ZodMiniType>(
  scope: Construct,
  key: string,
  schema: T,
): z.output<T> | undefined {
  let value: unknown = scope.node.tryGetContext(key);
  if (value === undefined) return undefined;
  if (typeof value === 'string' && /^\s*[[{]/.test(value)) {
    try {
      value = JSON.parse(value);
    } catch (error) {
      throw new Error(`context ${key} is not valid JSON: ${(error as Error).message}`);
    }
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    const issues = result.error.issues.map(
      (issue) => `${[key, ...issue.path.map(String)].join('.')}: ${issue.message}`,
    );
    throw new Error(`invalid context ${key} (set in cdk.json or with -c): ${issues.join('; ')}`);
  }
  return result.data;
}
