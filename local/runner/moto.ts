// Prepares an S3 endpoint with IAM (moto's server, or any S3 + IAM + STS endpoint) as the independent judge of
// the functions' S3 calls: the bucket as the stack makes it, one role per function with its synthesized
// statements, and credentials from AssumeRole of that role for each function.
import {
  CreateRoleCommand,
  DeleteRolePolicyCommand,
  IAMClient,
  ListRolePoliciesCommand,
  PutRolePolicyCommand,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { CreateBucketCommand, PutBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface FunctionRole {
  /** The function's handler folder (`archive-file`), used as the role session's name. */
  functionName: string;
  /** The role's name at the endpoint (the template's role logical id). */
  roleName: string;
  /** The role's identity policies as synthesized, each a policy document. */
  policies: { name: string; document: unknown }[];
}

export interface S3JudgeTarget {
  endpoint: string;
  region: string;
  /** Each function's credentials from AssumeRole of its own role. */
  credentials: Map<string, AwsCredentials>;
  /** Each function's role ARN at the endpoint. */
  roleArns: Map<string, string>;
}

/** The administrator's credentials from the standard AWS environment variables, or a clear error. */
export function adminCredentialsFromEnvironment(env: NodeJS.ProcessEnv = process.env): AwsCredentials {
  const accessKeyId = env.AWS_ACCESS_KEY_ID?.trim();
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY?.trim();
  if (!accessKeyId || !secretAccessKey) {
    throw new Error(
      '--s3-endpoint needs the endpoint administrator credentials in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY',
    );
  }
  const sessionToken = env.AWS_SESSION_TOKEN?.trim();
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : '';
}

/**
 * Creates (or reuses, so reruns work) the versioned bucket, then for each function a role whose inline
 * policies are exactly the synthesized ones (stale ones removed), and assumes it. The role trusts the
 * administrator: moto checks AssumeRole against the trust policy, and locally the runner plays the Lambda
 * service that assumes each function's role in AWS (where the trust is `lambda.amazonaws.com`).
 */
export async function prepareS3Judge(options: {
  endpoint: string;
  region: string;
  admin: AwsCredentials;
  bucket: string;
  roles: FunctionRole[];
}): Promise<S3JudgeTarget> {
  const { endpoint, region, admin } = options;
  const common = { endpoint, region, credentials: admin };
  const s3 = new S3Client({ ...common, forcePathStyle: true });
  const iam = new IAMClient(common);
  const sts = new STSClient(common);
  try {
    try {
      await s3.send(new CreateBucketCommand({ Bucket: options.bucket }));
    } catch (error) {
      if (!['BucketAlreadyOwnedByYou', 'BucketAlreadyExists'].includes(errorName(error))) throw error;
    }
    await s3.send(
      new PutBucketVersioningCommand({
        Bucket: options.bucket,
        VersioningConfiguration: { Status: 'Enabled' },
      }),
    );

    const adminArn = (await sts.send(new GetCallerIdentityCommand({}))).Arn;
    if (!adminArn) throw new Error(`${endpoint} did not say who the administrator is (GetCallerIdentity)`);
    const trust = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { AWS: adminArn }, Action: 'sts:AssumeRole' }],
    });

    const credentials = new Map<string, AwsCredentials>();
    const roleArns = new Map<string, string>();
    for (const role of options.roles) {
      let roleArn: string | undefined;
      try {
        roleArn = (
          await iam.send(new CreateRoleCommand({ RoleName: role.roleName, AssumeRolePolicyDocument: trust }))
        ).Role?.Arn;
      } catch (error) {
        // The SDK names it EntityAlreadyExistsException (the error code is EntityAlreadyExists).
        if (!errorName(error).startsWith('EntityAlreadyExists')) throw error;
        await iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: role.roleName, PolicyDocument: trust }));
      }
      const wanted = new Set(role.policies.map((p) => p.name));
      const existing = (await iam.send(new ListRolePoliciesCommand({ RoleName: role.roleName }))).PolicyNames;
      for (const stale of existing ?? []) {
        if (!wanted.has(stale)) {
          await iam.send(new DeleteRolePolicyCommand({ RoleName: role.roleName, PolicyName: stale }));
        }
      }
      for (const policy of role.policies) {
        await iam.send(
          new PutRolePolicyCommand({
            RoleName: role.roleName,
            PolicyName: policy.name,
            PolicyDocument: JSON.stringify(policy.document),
          }),
        );
      }
      roleArn ??= `arn:aws:iam::${adminArn.split(':')[4]}:role/${role.roleName}`;
      const assumed = await sts.send(
        new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: role.functionName }),
      );
      const c = assumed.Credentials;
      if (!c?.AccessKeyId || !c.SecretAccessKey) {
        throw new Error(`${endpoint} gave no credentials for the role of ${role.functionName}`);
      }
      credentials.set(role.functionName, {
        accessKeyId: c.AccessKeyId,
        secretAccessKey: c.SecretAccessKey,
        ...(c.SessionToken ? { sessionToken: c.SessionToken } : {}),
      });
      roleArns.set(role.functionName, roleArn);
    }
    return { endpoint, region, credentials, roleArns };
  } finally {
    s3.destroy();
    iam.destroy();
    sts.destroy();
  }
}
