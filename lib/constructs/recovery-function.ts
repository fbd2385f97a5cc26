import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { AssetHashType, AssetStaging, DockerImage, Duration, Validations } from 'aws-cdk-lib';
import { Policy, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import {
  Architecture,
  type CfnFunction,
  Code,
  Function as LambdaFunction,
  Runtime,
} from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import packageJson from '../../package.json' with { type: 'json' };
import { type BundleRequest, PROJECT_ROOT } from '../bundling/esbuild.ts';

const BUNDLER = join(PROJECT_ROOT, 'lib', 'bundling', 'esbuild.ts');

/** Log levels understood by Powertools for AWS Lambda. */
export type PowertoolsLogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT';

/** Properties of a {@link RecoveryFunction}: its entry and whatever differs from the house defaults. */
export interface RecoveryFunctionProps {
  /** Handler file, relative to the project root (for example `functions/handlers/health.ts`). */
  readonly entry: string;

  /**
   * Name of the exported handler in `entry`.
   * @default 'handler'
   */
  readonly handler?: string;

  /**
   * What the function does, shown in the Lambda console.
   * @default - no description
   */
  readonly description?: string;

  /**
   * Maximum run time of one invocation.
   * @default Duration.seconds(30)
   */
  readonly timeout?: Duration;

  /**
   * Memory, which on Lambda also sets the CPU share.
   * @default 256
   */
  readonly memorySize?: number;

  /**
   * How long the function's log group keeps its events.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;

  /**
   * Powertools log level (`POWERTOOLS_LOG_LEVEL`).
   * @default 'INFO'
   */
  readonly logLevel?: PowertoolsLogLevel;

  /**
   * Powertools service name (`POWERTOOLS_SERVICE_NAME`), the `service` key of every log line and metric.
   * @default 'databricks-cluster-recovery'
   */
  readonly serviceName?: string;

  /**
   * CloudWatch namespace of the function's EMF metrics (`POWERTOOLS_METRICS_NAMESPACE`).
   * @default 'DatabricksClusterRecovery'
   */
  readonly metricsNamespace?: string;

  /**
   * Version reported by the function (`SERVICE_VERSION`).
   * @default - the `version` of the project's package.json
   */
  readonly version?: string;

  /**
   * Configuration the function needs that is not tied to a grant. Variables that come with
   * access to a resource (`TABLE_NAME`, ...) are set by the construct that grants the access.
   * @default - none
   */
  readonly environment?: Readonly<Record<string, string>>;

  /**
   * Whether stack traces are mapped back to the TypeScript sources at run time (a source map beside
   * the bundle and `--enable-source-maps`). Node then reads and parses the map while the function
   * initialises, which costs tens of milliseconds of every cold start: worth it only where cold starts
   * are off any caller's path and errors are read by people.
   * @default false
   */
  readonly sourceMap?: boolean;

  /**
   * Who invokes the function synchronously, for example 'API Gateway' or 'the recovery state
   * machine'. A synchronous caller receives the function's error itself, so a dead-letter queue
   * would never receive anything: naming the caller acknowledges Serverless-LambdaDLQ with that
   * reason. Leave it unset for a function invoked asynchronously and give it a dead-letter queue.
   * @default - not declared synchronous: the rule stays in force
   */
  readonly synchronousCaller?: string;
}

/** `node lib/bundling/esbuild.ts <request>`. */
function bundlerCommand(request: BundleRequest): string[] {
  return ['node', BUNDLER, JSON.stringify(request)];
}

/**
 * Bundles `entry` into `outputDir` with the house esbuild options (`lib/bundling/esbuild.ts`), in a child
 * process: CDK bundles synchronously, esbuild's plugins need its asynchronous API.
 */
function bundleLocally(entry: string, sourceMap: boolean, outputDir: string): boolean {
  const [, ...args] = bundlerCommand({ entry, outdir: outputDir, sourceMap });
  const child = spawnSync(process.execPath, args, {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (child.status !== 0) {
    throw new Error(`bundling ${entry} failed (${child.error?.message ?? `exit code ${child.status}`})`);
  }
  return true;
}

/**
 * A Lambda function with every house default: Node.js 24 on ARM64, bundled offline by the local
 * esbuild (`lib/bundling/esbuild.ts`), X-Ray active tracing, its own log group with a retention,
 * Powertools configuration, and a role that holds only what the function is granted.
 */
export class RecoveryFunction extends Construct {
  /** The Lambda function; grant access to it, or pass it to the constructs that grant it access. */
  public readonly lambdaFunction: LambdaFunction;

  /** The function's execution role. */
  public readonly role: Role;

  /** The log group the function writes to. */
  public readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: RecoveryFunctionProps) {
    super(scope, id);

    this.logGroup = new LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
    });

    // An explicit role instead of AWSLambdaBasicExecutionRole: it may write to this log group only.
    this.role = new Role(this, 'ServiceRole', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${this.node.path}`,
    });
    this.logGroup.grantWrite(this.role);

    const sourceMap = props.sourceMap ?? false;
    this.lambdaFunction = new LambdaFunction(this, 'Function', {
      // Bundled offline by the local esbuild; the output is the asset, and its hash the asset's.
      code: Code.fromAsset(PROJECT_ROOT, {
        assetHashType: AssetHashType.OUTPUT,
        bundling: {
          // Never pulled: local bundling either succeeds or fails the synthesis.
          image: DockerImage.fromRegistry('dummy'),
          // Never run either, but CDK tells bundles apart by these options (not by the local bundler):
          // the same command in the asset's terms.
          command: bundlerCommand({
            entry: props.entry,
            outdir: AssetStaging.BUNDLING_OUTPUT_DIR,
            sourceMap,
          }),
          local: { tryBundle: (outputDir) => bundleLocally(props.entry, sourceMap, outputDir) },
        },
      }),
      handler: `index.${props.handler ?? 'handler'}`,
      description: props.description,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(30),
      role: this.role,
      logGroup: this.logGroup,
      environment: {
        ...(sourceMap ? { NODE_OPTIONS: '--enable-source-maps' } : {}),
        POWERTOOLS_SERVICE_NAME: props.serviceName ?? 'databricks-cluster-recovery',
        POWERTOOLS_METRICS_NAMESPACE: props.metricsNamespace ?? 'DatabricksClusterRecovery',
        POWERTOOLS_LOG_LEVEL: props.logLevel ?? 'INFO',
        SERVICE_VERSION: props.version ?? packageJson.version,
        ...props.environment,
      },
    });

    this.enableTracing();

    if (props.synchronousCaller !== undefined) {
      Validations.of(this.lambdaFunction).acknowledge({
        id: 'Serverless-LambdaDLQ',
        reason: `Invoked synchronously by ${props.synchronousCaller}, which receives the error itself; a dead-letter queue only captures failed asynchronous invocations.`,
      });
    }
  }

  /**
   * Turns on X-Ray active tracing with its permissions in a policy of their own. The L2 `tracing`
   * prop would add them to the role's default policy, where an acknowledgement of their wildcard
   * resource would also hide any wildcard a later grant puts there.
   */
  private enableTracing(): void {
    const cfnFunction = this.lambdaFunction.node.defaultChild as CfnFunction;
    cfnFunction.tracingConfig = { mode: 'Active' };

    const tracingPolicy = new Policy(this, 'TracingPolicy', {
      roles: [this.role],
      statements: [
        new PolicyStatement({
          actions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'],
          resources: ['*'],
        }),
      ],
    });
    cfnFunction.node.addDependency(tracingPolicy);
    Validations.of(tracingPolicy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'xray:PutTraceSegments and xray:PutTelemetryRecords do not support resource-level permissions; this policy holds nothing else.',
    });
  }
}
