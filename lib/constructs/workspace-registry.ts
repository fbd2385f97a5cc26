import { createHash } from 'node:crypto';
import { ArnFormat, Stack, Validations } from 'aws-cdk-lib';
import { Policy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { AwsCustomResource, AwsCustomResourcePolicy, PhysicalResourceId } from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import {
  type CredentialAccess,
  type SecretPrefixes,
  secretNameProblems,
  type WorkspaceEntryInput,
} from '../../functions/core/workspace.ts';
import { workspaceItemKey } from '../../functions/store/workspaces.ts';
import type { RecoveryFunction } from './recovery-function.ts';
import type { Storage } from './storage.ts';

/** Properties of {@link WorkspaceRegistry}. */
export interface WorkspaceRegistryProps {
  /** The table the registry lives in. */
  readonly storage: Storage;

  /**
   * The workspaces written into the registry at deployment (the CDK context list): created, and
   * written again whenever this list changes. Workspaces added with `rca workspaces add` are left
   * alone; one removed from this list stays registered until `rca workspaces remove`.
   * @default - none: the registry is filled with `rca workspaces add`
   */
  readonly seed?: readonly WorkspaceEntryInput[];

  /**
   * The prefix of every Databricks credentials secret name. Functions may read the secrets under it
   * (`secret:<prefix>*`) and no other, so a workspace added at run time needs no new grant.
   * @default 'databricks/'
   */
  readonly secretPrefix?: string;

  /**
   * The prefix of the read-only credentials, the only secrets the internet-facing intake may read.
   * @default - the intake reads under `secretPrefix` (read-only credential where registered, else the acting one)
   */
  readonly readOnlySecretPrefix?: string;

  /**
   * How long a function keeps what it read from the registry (`WORKSPACE_CACHE_SECONDS`).
   * @default 60
   */
  readonly cacheSeconds?: number;
}

/** TransactWriteItems takes at most 100 actions; one call seeds up to 100 workspaces. */
const SEED_CHUNK = 100;

/**
 * The workspace registry: DynamoDB items in the storage table (`WORKSPACES` / `WORKSPACE#<id>`), the
 * source of truth at run time, changed with `rca workspaces`; seeded at deployment from the CDK
 * context by a custom resource; and the grants that let a function read it and the credentials
 * secrets under one name prefix.
 */
export class WorkspaceRegistry extends Construct {
  /** The prefix of the acting credentials' secret names. */
  public readonly secretPrefix: string;

  /** The prefix of the read-only credentials, when the intake is confined to them. */
  public readonly readOnlySecretPrefix?: string;

  /** The seeding custom resources (one per 100 workspaces). */
  public readonly seeders: readonly AwsCustomResource[];

  private readonly storage: Storage;
  private readonly cacheSeconds: number;

  constructor(scope: Construct, id: string, props: WorkspaceRegistryProps) {
    super(scope, id);
    this.storage = props.storage;
    this.secretPrefix = props.secretPrefix ?? 'databricks/';
    if (props.readOnlySecretPrefix !== undefined) this.readOnlySecretPrefix = props.readOnlySecretPrefix;
    this.cacheSeconds = props.cacheSeconds ?? 60;
    for (const prefix of [this.secretPrefix, props.readOnlySecretPrefix]) {
      if (prefix !== undefined && !/^[A-Za-z0-9/_+=.@-]{1,400}$/.test(prefix)) {
        throw new Error(
          `${this.node.path}: secret prefix '${prefix}' may contain only letters, digits and /_+=.@-`,
        );
      }
    }
    const seed = props.seed ?? [];
    const prefixes = this.prefixes();
    for (const workspace of seed) {
      const problems = secretNameProblems(workspace, prefixes);
      if (problems.length > 0) {
        throw new Error(`${this.node.path}: workspace '${workspace.id}': ${problems.join('; ')}`);
      }
    }
    const seeders: AwsCustomResource[] = [];
    for (let i = 0; i < seed.length; i += SEED_CHUNK) {
      seeders.push(this.seeder(`Seed${i / SEED_CHUNK}`, seed.slice(i, i + SEED_CHUNK)));
    }
    this.seeders = seeders;
    if (seeders.length > 0) this.acknowledgeSeedingFunction();
  }

  /** The custom resources' one function (a singleton CDK adds to the stack), run once per deployment. */
  private acknowledgeSeedingFunction(): void {
    const provider = Stack.of(this).node.tryFindChild(
      `AWS${AwsCustomResource.PROVIDER_FUNCTION_UUID.replace(/-/g, '')}`,
    );
    if (provider === undefined) return;
    const why =
      "CDK's AwsCustomResource function, run by CloudFormation only when the seed list of the workspace registry changes (one TransactWriteItems per 100 workspaces)";
    Validations.of(provider).acknowledge(
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: `${why}; the managed policy lets it write its own logs and nothing else. Its one other permission is dynamodb:PutItem on the table.`,
      },
      {
        id: 'Serverless-LambdaDefaultMemorySize',
        reason: `${why}: the default memory is ample for one API call.`,
      },
      {
        id: 'Serverless-LambdaDLQ',
        reason: `${why}, synchronously: a failure fails the deployment, which is the report.`,
      },
      { id: 'Serverless-LambdaTracing', reason: `${why}: a deploy-time call has no request path to trace.` },
    );
  }

  /** The prefixes as the operations function validates new entries against them. */
  public prefixes(): SecretPrefixes {
    return {
      acting: this.secretPrefix,
      ...(this.readOnlySecretPrefix === undefined ? {} : { readOnly: this.readOnlySecretPrefix }),
    };
  }

  /**
   * Lets `fn` read the registry (through the table grant it already has) and the credentials secrets
   * under the prefix of `access`, and tells it the cache age. `read` is the intake's: the read-only
   * prefix when one is configured.
   */
  public grantCredentials(fn: RecoveryFunction, access: CredentialAccess): void {
    const prefix = access === 'read' ? (this.readOnlySecretPrefix ?? this.secretPrefix) : this.secretPrefix;
    const secrets = Stack.of(this).formatArn({
      service: 'secretsmanager',
      resource: 'secret',
      resourceName: `${prefix}*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    fn.lambdaFunction.addEnvironment('WORKSPACE_CACHE_SECONDS', String(this.cacheSeconds));
    // A policy of its own, so that the acknowledgement of its wildcard covers this statement only.
    const policy = new Policy(fn, 'DatabricksCredentialsPolicy', {
      roles: [fn.role],
      statements: [new PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [secrets] })],
    });
    Validations.of(policy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:${prefix}*]`,
      reason: `Workspaces are added at run time (rca workspaces add), so their credentials secrets cannot be named at deployment; the grant is confined to secret names under '${prefix}' (Secrets Manager appends a random suffix to every secret ARN, so even one named secret needs a trailing wildcard). Keep other secrets out of this prefix.`,
    });
  }

  /** The operations function: validates new entries against the prefixes. */
  public configureOperations(fn: RecoveryFunction): void {
    this.grantCredentials(fn, 'act');
    fn.lambdaFunction.addEnvironment('DATABRICKS_SECRET_PREFIX', this.secretPrefix);
    if (this.readOnlySecretPrefix !== undefined) {
      fn.lambdaFunction.addEnvironment('DATABRICKS_READ_ONLY_SECRET_PREFIX', this.readOnlySecretPrefix);
    }
  }

  private seedLogGroup?: LogGroup;

  /** One log group for the seeding function, kept like every other log of the stack. */
  private seedLogs(): LogGroup {
    this.seedLogGroup ??= new LogGroup(this, 'SeedLogs', { retention: RetentionDays.THREE_MONTHS });
    return this.seedLogGroup;
  }

  private seeder(id: string, workspaces: readonly WorkspaceEntryInput[]): AwsCustomResource {
    const table = this.storage.table;
    const items = workspaces.map((workspace) => ({
      Put: {
        TableName: table.tableName,
        Item: marshall({
          ...workspaceItemKey(workspace.id),
          ...workspace,
          source: 'context',
          updatedBy: 'deployment (CDK context databricksWorkspaces)',
        }),
      },
    }));
    // The physical id changes with the list, so a changed list is written again on update.
    const digest = createHash('sha256').update(JSON.stringify(workspaces)).digest('hex').slice(0, 16);
    const call = {
      service: 'DynamoDB',
      action: 'TransactWriteItems',
      parameters: { TransactItems: items },
      physicalResourceId: PhysicalResourceId.of(`workspace-registry-${digest}`),
    };
    const resource = new AwsCustomResource(this, id, {
      onCreate: call,
      onUpdate: call,
      policy: AwsCustomResourcePolicy.fromStatements([
        new PolicyStatement({ actions: ['dynamodb:PutItem'], resources: [table.tableArn] }),
      ]),
      installLatestAwsSdk: false,
      logGroup: this.seedLogs(),
    });
    return resource;
  }
}

/** DynamoDB's attribute-value form of a flat record of strings (what the seeded items hold). */
function marshall(item: Readonly<Record<string, string | undefined>>): Record<string, { S: string }> {
  return Object.fromEntries(
    Object.entries(item).flatMap(([key, value]) => (value === undefined ? [] : [[key, { S: value }]])),
  );
}
