import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Grant } from 'aws-cdk-lib/aws-iam';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';

/** Properties of {@link Storage}. */
export interface StorageProps {
  /**
   * What happens to the table when it leaves the stack. Tickets and their audit trail outlive a
   * deployment, so only throw-away stacks should choose anything else.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

const GSI1 = 'gsi1';

// Every item operation the handlers use, on the table and its index; no Scan, no table management.
const READ_WRITE_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:ConditionCheckItem',
];

/**
 * The single DynamoDB table (single-table design) holding tickets, their audit events, incident
 * keys, circuit breakers and poll cursors: on-demand, point-in-time recovery, TTL on `expires_at`,
 * encrypted with the AWS-managed key and retained when the stack goes.
 */
export class Storage extends Construct {
  /** The table. Keys: `pk`/`sk`; index `gsi1` on `gsi1pk`/`gsi1sk`. */
  public readonly table: Table;

  constructor(scope: Construct, id: string, props: StorageProps = {}) {
    super(scope, id);

    this.table = new Table(this, 'Table', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: 'expires_at',
      encryption: TableEncryption.AWS_MANAGED,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: GSI1,
      partitionKey: { name: 'gsi1pk', type: AttributeType.STRING },
      sortKey: { name: 'gsi1sk', type: AttributeType.STRING },
      projectionType: ProjectionType.ALL,
    });
  }

  /**
   * Lets a function read and write items in the table and query `gsi1`, and tells it the table's
   * name in `TABLE_NAME`. Granted on the named index rather than `index/*`, so no wildcard.
   */
  public grantReadWriteData(fn: LambdaFunction): Grant {
    fn.addEnvironment('TABLE_NAME', this.table.tableName);
    return Grant.addToPrincipal({
      grantee: fn,
      actions: READ_WRITE_ACTIONS,
      resourceArns: [this.table.tableArn, `${this.table.tableArn}/index/${GSI1}`],
    });
  }
}
