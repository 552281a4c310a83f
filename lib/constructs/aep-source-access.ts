// The IAM user AEP's S3 source connection signs in as: it may read the staged copies and nothing else.
// The stack creates no access key: an operator creates one and gives it to AEP
// (docs/operations.md#rotating-the-aep-source-users-key).
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledgeWildcardResource } from '../nag.ts';

export interface AepSourceAccessProps {
  bucket: s3.IBucket;
}

/**
 * The only folder AEP reads: its base connection's `folderPath`, which Adobe asks for when the user's access
 * is restricted (AdobeDocs/experience-platform.*, help/sources/tutorials/api/create/cloud-storage/s3.md).
 */
export const AEP_SOURCE_FOLDER = 'staging';

/**
 * What Adobe's S3 source asks of the user (AdobeDocs/experience-platform.*, help/sources/connectors/
 * cloud-storage/s3.md, "permissions"): s3:GetObject and s3:GetObjectVersion to ingest, and s3:ListAllMyBuckets,
 * s3:ListBucket and s3:GetBucketLocation to explore and test the connection. Each is scoped as far as S3
 * lets it be (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html): the
 * object reads to staging/, the listing to prefixes under staging/ (s3:prefix), the location to the bucket;
 * ListAllMyBuckets has no resource but `*` and lists bucket names only.
 */
export class AepSourceAccess extends Construct {
  readonly user: iam.User;

  constructor(scope: Construct, id: string, props: AepSourceAccessProps) {
    super(scope, id);
    this.user = new iam.User(this, 'User');
    const stagedObjects = props.bucket.arnForObjects(`${AEP_SOURCE_FOLDER}/*`);
    const policy = new iam.Policy(this, 'ReadStaging', {
      statements: [
        // The bucket is versioned: AEP may read an object by its version.
        new iam.PolicyStatement({
          actions: ['s3:GetObject', 's3:GetObjectVersion'],
          resources: [stagedObjects],
        }),
        // Exploring the folder: the folder itself (`staging`, `staging/`) and anything below it.
        new iam.PolicyStatement({
          actions: ['s3:ListBucket'],
          resources: [props.bucket.bucketArn],
          conditions: {
            StringLike: {
              's3:prefix': [AEP_SOURCE_FOLDER, `${AEP_SOURCE_FOLDER}/`, `${AEP_SOURCE_FOLDER}/*`],
            },
          },
        }),
        // Clients resolve the bucket's region before reading it.
        new iam.PolicyStatement({ actions: ['s3:GetBucketLocation'], resources: [props.bucket.bucketArn] }),
        // Testing the connection lists the account's buckets.
        new iam.PolicyStatement({ actions: ['s3:ListAllMyBuckets'], resources: ['*'] }),
      ],
    });
    policy.attachToUser(this.user);
    acknowledgeWildcardResource(
      policy,
      stagedObjects,
      'AEP reads the staged copy of each audience under staging/; the keys are only known at run time',
    );
    acknowledgeWildcardResource(
      policy,
      '*',
      "s3:ListAllMyBuckets, which Adobe's S3 source asks for to test the connection, takes no resource but `*`; it lists bucket names, no objects",
    );
  }
}
