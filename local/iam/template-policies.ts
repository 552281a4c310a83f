// Reads out of the synthesized template what IAM decides with: each function's role, session and identity
// policies, the resource policies by resource ARN, and which KMS key encrypts each topic and secret.
import {
  type Json,
  LOCAL_ACCOUNT,
  LOCAL_REGION,
  type LocalPhysicalNames,
  resolveIntrinsics,
  unresolvedPath,
} from '../runner/synthesized.ts';

/** An IAM policy document as iam-simulate takes it. */
export type PolicyDocument = { Version?: string; Statement: Json[] | Json };

export interface IdentityPolicy {
  /** The AWS::IAM::Policy logical id, or `<RoleLogicalId>/<PolicyName>` for an inline policy of the role. */
  name: string;
  policy: PolicyDocument;
}

/** Who a function is when it calls AWS: its role, and the session Lambda opens with that role. */
export interface FunctionPrincipal {
  /** Handler folder name, e.g. `archive-file` (the key of `readSynthesizedPipeline(...).functions`). */
  function: string;
  functionLogicalId: string;
  roleLogicalId: string;
  roleArn: string;
  /** `arn:aws:sts::<account>:assumed-role/<role>/<function>`: what AWS names in a denial. */
  sessionArn: string;
  accountId: string;
  identityPolicies: IdentityPolicy[];
}

export interface ResourcePolicy {
  /** Logical id of the policy resource (or of the key, for a key policy). */
  logicalId: string;
  policy: PolicyDocument;
}

export interface TemplatePolicies {
  /** By handler folder name. */
  functions: Record<string, FunctionPrincipal>;
  /** By the ARN of the resource the policy is attached to (bucket, topic, queue, secret, key). */
  resourcePolicies: Record<string, ResourcePolicy>;
  /** Every topic by ARN, with the key ARN from `KmsMasterKeyId` (absent: not encrypted with a customer key). */
  topics: Record<string, { logicalId: string; kmsKeyArn?: string }>;
  /** Every secret by ARN, with its name and `KmsKeyId` (absent: the AWS managed key, which needs no check). */
  secrets: Record<string, { logicalId: string; name: string; kmsKeyArn?: string }>;
  /** Every customer managed key by ARN. */
  keys: Record<string, { logicalId: string }>;
}

/** The key policy CloudFormation gives a key created without one: the account, hence IAM, decides. */
const DEFAULT_KEY_POLICY: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${LOCAL_ACCOUNT}:root` },
      Action: 'kms:*',
      Resource: '*',
    },
  ],
};

export function readTemplatePolicies(template: Json, names: LocalPhysicalNames): TemplatePolicies {
  const resources: Record<string, Json> = template.Resources ?? {};
  const resolve = (value: Json, where: string): Json => {
    const resolved = resolveIntrinsics(value, template, names);
    const path = unresolvedPath(resolved);
    if (path !== undefined) {
      const at = path === '(the value itself)' ? '' : path;
      throw new Error(`${where}${at} has a CloudFormation token with no local value`);
    }
    return resolved;
  };
  const arnOf = (logicalId: string, attribute: string, where: string): string =>
    resolve({ 'Fn::GetAtt': [logicalId, attribute] }, where);
  const refLogicalId = (value: Json, where: string): string => {
    if (typeof value?.Ref !== 'string')
      throw new Error(`${where} is not a Ref to a resource of the template`);
    return value.Ref;
  };
  const document = (value: Json, where: string): PolicyDocument => {
    const resolved = resolve(value, where);
    return typeof resolved === 'string' ? JSON.parse(resolved) : resolved;
  };

  // Identity policies are resolved only for the roles functions run as: another role's policy (a custom
  // resource's, the state machine's) is none of the gateway's business and may name what has no local value.
  const identityPoliciesByRole = new Map<string, (() => IdentityPolicy)[]>();
  const managedPoliciesOf = new Map<string, string>();
  const attach = (role: string, policy: () => IdentityPolicy) => {
    const list = identityPoliciesByRole.get(role) ?? [];
    list.push(policy);
    identityPoliciesByRole.set(role, list);
  };
  const out: TemplatePolicies = { functions: {}, resourcePolicies: {}, topics: {}, secrets: {}, keys: {} };
  const addResourcePolicy = (arn: string, policy: ResourcePolicy) => {
    const existing = out.resourcePolicies[arn];
    if (existing) {
      throw new Error(`${arn} has two resource policies (${existing.logicalId}, ${policy.logicalId})`);
    }
    out.resourcePolicies[arn] = policy;
  };

  for (const [logicalId, resource] of Object.entries(resources)) {
    const properties = resource.Properties ?? {};
    const where = `${logicalId} (${resource.Type}) Properties`;
    switch (resource.Type) {
      case 'AWS::IAM::Policy': {
        for (const [index, role] of (properties.Roles ?? []).entries()) {
          attach(refLogicalId(role, `${where}.Roles[${index}]`), () => ({
            name: logicalId,
            policy: document(properties.PolicyDocument, `${where}.PolicyDocument`),
          }));
        }
        break;
      }
      case 'AWS::IAM::Role': {
        if ((properties.ManagedPolicyArns ?? []).length > 0) managedPoliciesOf.set(logicalId, where);
        for (const [index, inline] of (properties.Policies ?? []).entries()) {
          attach(logicalId, () => ({
            name: `${logicalId}/${inline.PolicyName}`,
            policy: document(inline.PolicyDocument, `${where}.Policies[${index}].PolicyDocument`),
          }));
        }
        break;
      }
      case 'AWS::S3::BucketPolicy': {
        const bucket = resolve(properties.Bucket, `${where}.Bucket`);
        addResourcePolicy(`arn:aws:s3:::${bucket}`, {
          logicalId,
          policy: document(properties.PolicyDocument, `${where}.PolicyDocument`),
        });
        break;
      }
      case 'AWS::SNS::TopicPolicy': {
        const policy = document(properties.PolicyDocument, `${where}.PolicyDocument`);
        for (const [index, topic] of (properties.Topics ?? []).entries()) {
          addResourcePolicy(resolve(topic, `${where}.Topics[${index}]`), { logicalId, policy });
        }
        break;
      }
      case 'AWS::SQS::QueuePolicy': {
        const policy = document(properties.PolicyDocument, `${where}.PolicyDocument`);
        for (const [index, queue] of (properties.Queues ?? []).entries()) {
          const queueWhere = `${where}.Queues[${index}]`;
          addResourcePolicy(arnOf(refLogicalId(queue, queueWhere), 'Arn', queueWhere), { logicalId, policy });
        }
        break;
      }
      case 'AWS::SecretsManager::ResourcePolicy': {
        addResourcePolicy(resolve(properties.SecretId, `${where}.SecretId`), {
          logicalId,
          policy: document(properties.ResourcePolicy, `${where}.ResourcePolicy`),
        });
        break;
      }
      case 'AWS::KMS::Key': {
        const arn = arnOf(logicalId, 'Arn', where);
        out.keys[arn] = { logicalId };
        addResourcePolicy(arn, {
          logicalId,
          policy: properties.KeyPolicy
            ? document(properties.KeyPolicy, `${where}.KeyPolicy`)
            : DEFAULT_KEY_POLICY,
        });
        break;
      }
      case 'AWS::SNS::Topic': {
        const arn = arnOf(logicalId, 'TopicArn', where);
        const key = properties.KmsMasterKeyId;
        const kmsKeyArn =
          key === undefined
            ? undefined
            : keyArn(resolve(key, `${where}.KmsMasterKeyId`), `${where}.KmsMasterKeyId`);
        out.topics[arn] = { logicalId, ...(kmsKeyArn ? { kmsKeyArn } : {}) };
        break;
      }
      case 'AWS::SecretsManager::Secret': {
        const arn = resolve({ Ref: logicalId }, where);
        const key = properties.KmsKeyId;
        const kmsKeyArn =
          key === undefined ? undefined : keyArn(resolve(key, `${where}.KmsKeyId`), `${where}.KmsKeyId`);
        out.secrets[arn] = {
          logicalId,
          name: typeof properties.Name === 'string' ? properties.Name : logicalId,
          ...(kmsKeyArn ? { kmsKeyArn } : {}),
        };
        break;
      }
    }
  }

  for (const [functionLogicalId, resource] of Object.entries(resources)) {
    const handlerFile = resource.Metadata?.['aep:handler'];
    if (resource.Type !== 'AWS::Lambda::Function' || typeof handlerFile !== 'string') continue;
    const role = resource.Properties?.Role?.['Fn::GetAtt'];
    if (!Array.isArray(role) || role[1] !== 'Arn' || resources[role[0]]?.Type !== 'AWS::IAM::Role') {
      throw new Error(`${functionLogicalId} Properties.Role is not a GetAtt Arn of a role of the template`);
    }
    const roleLogicalId = String(role[0]);
    const managed = managedPoliciesOf.get(roleLogicalId);
    if (managed) {
      throw new Error(
        `${managed}.ManagedPolicyArns: role ${roleLogicalId} of ${functionLogicalId} has managed policies, ` +
          'whose statements the template does not hold, so its permissions cannot be evaluated locally',
      );
    }
    const folder = handlerFile.split('/').at(-2) ?? functionLogicalId;
    out.functions[folder] = {
      function: folder,
      functionLogicalId,
      roleLogicalId,
      roleArn: arnOf(roleLogicalId, 'Arn', `${functionLogicalId} Properties.Role`),
      sessionArn: `arn:aws:sts::${LOCAL_ACCOUNT}:assumed-role/${roleLogicalId}/${functionLogicalId}`,
      accountId: LOCAL_ACCOUNT,
      identityPolicies: (identityPoliciesByRole.get(roleLogicalId) ?? []).map((read) => read()),
    };
  }
  return out;
}

/**
 * `KmsMasterKeyId`/`KmsKeyId` as a key ARN; undefined for an AWS managed key (`alias/aws/...`), whose policy
 * lets every principal of the account use it through the service, so it never decides anything.
 */
function keyArn(value: string, where: string): string | undefined {
  if (/^(arn:aws:kms:[^:]+:[^:]+:)?alias\/aws\//.test(value)) return undefined;
  if (/^arn:aws:kms:[^:]+:[^:]+:key\/[^/]+$/.test(value)) return value;
  if (/^[\w-]+$/.test(value)) return `arn:aws:kms:${LOCAL_REGION}:${LOCAL_ACCOUNT}:key/${value}`;
  throw new Error(`${where} is ${value}: a customer key must be named by its ARN or key id locally`);
}
