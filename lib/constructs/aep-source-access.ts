// The IAM user AEP's S3 source connection signs in as: it may read the staged copies and nothing else.
// The stack creates no access key: an operator creates one and gives it to AEP (see the README).
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledgeWildcardResource } from '../nag.ts';

export interface AepSourceAccessProps {
  bucket: s3.IBucket;
}

export class AepSourceAccess extends Construct {
  readonly user: iam.User;

  constructor(scope: Construct, id: string, props: AepSourceAccessProps) {
    super(scope, id);
    this.user = new iam.User(this, 'User');
    const policy = new iam.Policy(this, 'ReadStaging', {
      statements: [
        new iam.PolicyStatement({
          actions: ['s3:GetObject'],
          resources: [props.bucket.arnForObjects('staging/*')],
        }),
        new iam.PolicyStatement({
          actions: ['s3:ListBucket'],
          resources: [props.bucket.bucketArn],
          conditions: { StringLike: { 's3:prefix': ['staging', 'staging/', 'staging/*'] } },
        }),
        // Clients resolve the bucket's region before reading it.
        new iam.PolicyStatement({ actions: ['s3:GetBucketLocation'], resources: [props.bucket.bucketArn] }),
      ],
    });
    policy.attachToUser(this.user);
    acknowledgeWildcardResource(
      policy,
      props.bucket.arnForObjects('staging/*'),
      'AEP reads the staged copy of each audience under staging/; the keys are only known at run time',
    );
  }
}
