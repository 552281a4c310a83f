// The drop bucket teams upload CSVs to, with its access-log bucket: encrypted, TLS only, private, versioned,
// retained, and expiring personal data per configuration.
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { PipelineConfig } from '../config.ts';

export type DropBucketProps = Pick<
  PipelineConfig,
  | 'bucketName'
  | 'stagingRetentionDays'
  | 'reportsRetentionDays'
  | 'processedRetentionDays'
  | 'failedRetentionDays'
  | 'noncurrentVersionRetentionDays'
>;

export class DropBucket extends Construct {
  readonly bucket: s3.Bucket;
  readonly accessLogsBucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: DropBucketProps) {
    super(scope, id);

    this.accessLogsBucket = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const expireUnder = (prefix: string, days: number): s3.LifecycleRule => ({
      id: `expire-${prefix.replace(/\/$/, '')}`,
      prefix,
      expiration: Duration.days(days),
    });

    this.bucket = new s3.Bucket(this, 'Bucket', {
      bucketName: props.bucketName,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      removalPolicy: RemovalPolicy.RETAIN,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'drop-bucket/',
      lifecycleRules: [
        expireUnder('staging/', props.stagingRetentionDays),
        expireUnder('reports/', props.reportsRetentionDays),
        expireUnder('processed/', props.processedRetentionDays),
        expireUnder('failed/', props.failedRetentionDays),
        {
          id: 'expire-old-versions',
          noncurrentVersionExpiration: Duration.days(props.noncurrentVersionRetentionDays),
          abortIncompleteMultipartUploadAfter: Duration.days(7),
          expiredObjectDeleteMarker: true,
        },
      ],
    });

    // EventBridge delivery set on the resource itself: CDK's `eventBridgeEnabled` would deploy a custom-resource
    // Lambda (BucketNotificationsHandler) to do what CloudFormation supports natively for a bucket it owns.
    const cfnBucket = this.bucket.node.defaultChild as s3.CfnBucket;
    cfnBucket.notificationConfiguration = { eventBridgeConfiguration: { eventBridgeEnabled: true } };
  }
}
