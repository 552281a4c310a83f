// The audience registry: one DynamoDB item per audience (id, staging folder, runs), shared by executions. Created
// by the stack, or, after a `cdk destroy` (which retains it), the table the earlier deployment left
// (`registryTableName`): a new, empty table would create every known audience again.
import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

export const REGISTRY_ITEM_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
];

export interface AudienceRegistryProps {
  /** Name of an existing table to use instead of creating one. */
  existingTableName?: string | undefined;
}

export class AudienceRegistry extends Construct {
  readonly table: dynamodb.ITable;

  constructor(scope: Construct, id: string, props: AudienceRegistryProps = {}) {
    super(scope, id);
    if (props.existingTableName !== undefined) {
      // Its ARN is built from the name in this stack's account and region: the grants below stay exact.
      this.table = dynamodb.Table.fromTableName(this, 'Table', props.existingTableName);
      return;
    }
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }

  get tableName(): string {
    return this.table.tableName;
  }

  /**
   * Read and conditional writes of single items: the functions that create, refresh or count runs of an
   * audience. Exactly the calls functions/shared/registry.ts makes (Get, Put, Update, Delete), not the scans,
   * queries and batch writes of `grantReadWriteData`.
   */
  /** One item at a time, read only: ValidateFile looking up a team's audience written before teams. */
  grantGetItem(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:GetItem'],
      resourceArns: [this.table.tableArn],
    });
  }

  grantReadWriteData(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: REGISTRY_ITEM_ACTIONS,
      resourceArns: [this.table.tableArn],
    });
  }
}
