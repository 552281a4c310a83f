// The drop bucket teams upload CSVs to, with its access-log bucket: encrypted, TLS only, private, versioned,
// retained, and expiring personal data per configuration. Or, after a `cdk destroy`, the buckets the earlier
// deployment left (`existingBucketName`): the stack puts back the bucket policies that went with the stack.
import { Annotations, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { RETENTION_STAGING, RETENTION_TAG } from '../../functions/shared/upkeep.ts';
import type { PipelineConfig } from '../config.ts';

export type DropBucketProps = Pick<
  PipelineConfig,
  | 'bucketName'
  | 'existingBucketName'
  | 'existingAccessLogsBucketName'
  | 'stagingRetentionDays'
  | 'reportsRetentionDays'
  | 'processedRetentionDays'
  | 'failedRetentionDays'
  | 'noncurrentVersionRetentionDays'
  | 'accessLogsRetentionDays'
>;

/** Where in the access-log bucket S3 writes the drop bucket's access logs. */
export const ACCESS_LOGS_PREFIX = 'drop-bucket/';

/** Incomplete multipart uploads (a stream cut off mid-way) are aborted after this many days. */
const ABORT_INCOMPLETE_UPLOADS_AFTER = Duration.days(7);

export class DropBucket extends Construct {
  readonly bucket: s3.IBucket;
  /** The bucket the drop bucket's access logs go to; undefined for an existing bucket whose one is not named. */
  readonly accessLogsBucket: s3.IBucket | undefined;
  /** True when the bucket is an existing one (`existingBucketName`), not created by this stack. */
  readonly existing: boolean;

  constructor(scope: Construct, id: string, props: DropBucketProps) {
    super(scope, id);
    this.existing = props.existingBucketName !== undefined;
    if (props.existingBucketName !== undefined) {
      const adopted = this.adopt(props.existingBucketName, props.existingAccessLogsBucketName);
      this.bucket = adopted.bucket;
      this.accessLogsBucket = adopted.accessLogsBucket;
      return;
    }

    // S3 expires the logs and aborts incomplete multipart uploads by lifecycle rule (S3 user guide, "Expiring
    // objects" and "Configuring a bucket lifecycle configuration to delete incomplete multipart uploads",
    // mpu-abort-incomplete-mpu-lifecycle-config.html): without one, access logs pile up for as long as the
    // bucket is retained.
    const accessLogsBucket = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        {
          id: 'expire-access-logs',
          expiration: Duration.days(props.accessLogsRetentionDays),
          abortIncompleteMultipartUploadAfter: ABORT_INCOMPLETE_UPLOADS_AFTER,
        },
      ],
    });
    this.accessLogsBucket = accessLogsBucket;

    const expireUnder = (prefix: string, days: number): s3.LifecycleRule => ({
      id: `expire-${prefix.replace(/\/$/, '')}`,
      prefix,
      expiration: Duration.days(days),
    });

    const bucket = new s3.Bucket(this, 'Bucket', {
      bucketName: props.bucketName,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      removalPolicy: RemovalPolicy.RETAIN,
      serverAccessLogsBucket: accessLogsBucket,
      serverAccessLogsPrefix: ACCESS_LOGS_PREFIX,
      lifecycleRules: [
        // Only the copies tagged `aep-retention=staging` (every copy validate-file writes): KeepAlive retags
        // the copy a kept-alive audience's last run ingested `keep-alive`, which no rule expires, for as long
        // as the audience is kept alive (extend-ttl re-ingests it), whatever stagingRetentionDays says.
        {
          ...expireUnder('staging/', props.stagingRetentionDays),
          tagFilters: { [RETENTION_TAG]: RETENTION_STAGING },
        },
        expireUnder('reports/', props.reportsRetentionDays),
        expireUnder('processed/', props.processedRetentionDays),
        expireUnder('failed/', props.failedRetentionDays),
        {
          id: 'expire-old-versions',
          noncurrentVersionExpiration: Duration.days(props.noncurrentVersionRetentionDays),
          abortIncompleteMultipartUploadAfter: ABORT_INCOMPLETE_UPLOADS_AFTER,
          expiredObjectDeleteMarker: true,
        },
      ],
    });
    this.bucket = bucket;

    // EventBridge delivery set on the resource itself: CDK's `eventBridgeEnabled` would deploy a custom-resource
    // Lambda (BucketNotificationsHandler) to do what CloudFormation supports natively for a bucket it owns.
    const cfnBucket = bucket.node.defaultChild as s3.CfnBucket;
    cfnBucket.notificationConfiguration = { eventBridgeConfiguration: { eventBridgeEnabled: true } };
  }

  /**
   * The buckets a `cdk destroy` left. Their settings (encryption, versioning, lifecycle rules, access logging,
   * EventBridge delivery) are properties of the buckets and stayed with them; their bucket policies were
   * resources of the stack and went with it, so they are made again: TLS only on both, and on the access-log
   * bucket the grant S3 log delivery needs, since BucketOwnerEnforced leaves it no ACL to write by.
   */
  private adopt(
    bucketName: string,
    accessLogsBucketName: string | undefined,
  ): { bucket: s3.IBucket; accessLogsBucket: s3.IBucket | undefined } {
    const bucket = s3.Bucket.fromBucketName(this, 'Bucket', bucketName);
    new s3.BucketPolicy(this, 'Policy', { bucket }).document.addStatements(tlsOnly(bucket));

    let accessLogsBucket: s3.IBucket | undefined;
    if (accessLogsBucketName !== undefined) {
      accessLogsBucket = s3.Bucket.fromBucketName(this, 'AccessLogs', accessLogsBucketName);
      new s3.BucketPolicy(this, 'AccessLogsPolicy', { bucket: accessLogsBucket }).document.addStatements(
        tlsOnly(accessLogsBucket),
        logDeliveryFrom(bucket, accessLogsBucket),
      );
    }

    Annotations.of(this).addWarningV2(
      'aep:existing-drop-bucket',
      `The drop bucket is the existing bucket ${bucketName}: the stack does not set its lifecycle rules ` +
        '(the *RetentionDays keys do not apply to it), versioning, encryption or EventBridge delivery; a bucket ' +
        'an earlier deployment created kept them. ' +
        (accessLogsBucketName === undefined
          ? 'No existingAccessLogsBucketName is set: if the bucket logs to the access-log bucket of that ' +
            'deployment, name it, or S3 cannot deliver the logs there.'
          : `Its access logs go on to ${accessLogsBucketName}, which expires them by its own rules.`),
    );
    return { bucket, accessLogsBucket };
  }
}

/** What `enforceSSL` puts on a bucket the stack creates: every request over plain HTTP is refused. */
function tlsOnly(bucket: s3.IBucket): iam.PolicyStatement {
  return new iam.PolicyStatement({
    effect: iam.Effect.DENY,
    principals: [new iam.AnyPrincipal()],
    actions: ['s3:*'],
    resources: [bucket.bucketArn, bucket.arnForObjects('*')],
    conditions: { Bool: { 'aws:SecureTransport': 'false' } },
  });
}

/**
 * S3 server access log delivery into `target`, from `source` of this account only: the grant of the S3 user
 * guide, "Enabling Amazon S3 server access logging", "Permissions for log delivery" (the logging service
 * principal, `aws:SourceArn` the source bucket, `aws:SourceAccount` its owner), as CDK writes it for a bucket it
 * creates.
 */
function logDeliveryFrom(source: s3.IBucket, target: s3.IBucket): iam.PolicyStatement {
  return new iam.PolicyStatement({
    principals: [new iam.ServicePrincipal('logging.s3.amazonaws.com')],
    actions: ['s3:PutObject'],
    resources: [target.arnForObjects(`${ACCESS_LOGS_PREFIX}*`)],
    conditions: {
      ArnLike: { 'aws:SourceArn': source.bucketArn },
      StringEquals: { 'aws:SourceAccount': Stack.of(target).account },
    },
  });
}
