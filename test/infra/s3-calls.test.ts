// Each S3-side function's calls, as the IAM actions S3 authorizes them with, simulated against the role the
// stack synthesizes: every call the function makes is allowed, and the reads it must not need (the HEAD under
// processed/ that failed a deployment for a file without manifest) or any listing outside its prefixes are not.
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/app-factory.ts';
import {
  asArray,
  functionsByLogicalId,
  type Json,
  logicalIdOfType,
  policyStatements,
} from './template-helpers.ts';

const ACCOUNT = '111122223333';
const BUCKET_ARN = 'arn:aws:s3:::drop';
const EXEC = 'churn-1a2b3c4d';
const KEY = 'incoming/teamA/churn.csv';
const MANIFEST = 'incoming/teamA/churn.manifest.json';
const STAGED = `staging/audiences/teama-churn-0a1b2c3d/${EXEC}.csv`;
const archived = (prefix: string, name: string) => `${prefix}teamA/${EXEC}/${name}`;
const report = (name: string) => `reports/${EXEC}/${name}`;

interface Call {
  action: string;
  resource: string;
  context?: Record<string, string>;
}
const on = (action: string, key: string): Call => ({ action, resource: `${BUCKET_ARN}/${key}` });
/** ListObjectsV2 with `Prefix` = the key: an existence check. */
const listing = (key: string): Call => ({
  action: 's3:ListBucket',
  resource: BUCKET_ARN,
  context: { 's3:prefix': key },
});
/** A listing of the whole bucket (no prefix): no function needs one. */
const wholeBucket: Call = { action: 's3:ListBucket', resource: BUCKET_ARN };

/** moveObject of the original and its manifest from incoming/ to `prefix`. */
function moveCalls(prefix: string): Call[] {
  const target = archived(prefix, 'churn.csv');
  const manifestTarget = archived(prefix, 'churn.manifest.json');
  return [
    // objectExists of the source, then of the target when the source is not (or no longer) ours.
    ...[KEY, MANIFEST, target, manifestTarget].map(listing),
    // HEAD of the current original, HEAD of the version the event names.
    on('s3:GetObject', KEY),
    on('s3:GetObjectVersion', KEY),
    // CopyObject/UploadPartCopy from the current object or that version, with its tags (default directive).
    on('s3:GetObjectTagging', KEY),
    on('s3:GetObjectVersionTagging', KEY),
    on('s3:GetObject', MANIFEST),
    on('s3:GetObjectTagging', MANIFEST),
    ...[target, manifestTarget].flatMap((key) => [
      on('s3:PutObject', key),
      on('s3:PutObjectTagging', key),
      // AbortMultipartUpload of a failed copy above 5 GB.
      on('s3:AbortMultipartUpload', key),
    ]),
    // DeleteObject of the sources, without a VersionId.
    on('s3:DeleteObject', KEY),
    on('s3:DeleteObject', MANIFEST),
  ];
}

const VALIDATION_CALLS: { allowed: Call[]; denied: Call[] } = {
  allowed: [
    listing(MANIFEST),
    on('s3:GetObject', MANIFEST),
    // An unversioned original: listed, then read; a versioned one: HEAD and GetObject by version.
    listing(KEY),
    on('s3:GetObject', KEY),
    on('s3:GetObjectVersion', KEY),
    // The staged copy through lib-storage (aborted when refused), then its HEAD.
    on('s3:PutObject', STAGED),
    on('s3:AbortMultipartUpload', STAGED),
    on('s3:GetObject', STAGED),
    on('s3:PutObject', report('validation.json')),
    on('s3:PutObject', report('rejects.csv')),
    on('s3:AbortMultipartUpload', report('rejects.csv')),
  ],
  denied: [wholeBucket, listing('staging/'), on('s3:GetObject', report('validation.json'))],
};

const FOLDER = 'incoming/teamA/churn.parts/';
const PART = `${FOLDER}part-00000.csv`;

/** keepOriginal of a folder drop: the folder listed, each part copied (current version) and deleted. */
function folderCalls(prefix: string): Call[] {
  const target = archived(prefix, 'churn.parts/part-00000.csv');
  return [
    listing(FOLDER),
    listing(`${FOLDER}_SUCCESS`),
    on('s3:GetObject', PART),
    on('s3:GetObjectTagging', PART),
    on('s3:PutObject', target),
    on('s3:PutObjectTagging', target),
    on('s3:AbortMultipartUpload', target),
    on('s3:DeleteObject', PART),
  ];
}

const CALLS: Record<string, { allowed: Call[]; denied: Call[] }> = {
  'validate-file': VALIDATION_CALLS,
  // The same code with more vCPUs: the same calls, plus ranged GETs, which are GetObject too.
  'validate-large-file': VALIDATION_CALLS,
  'archive-file': {
    allowed: [
      ...moveCalls('processed/'),
      ...folderCalls('processed/'),
      on('s3:PutObject', report('result.json')),
      // A redriven execution's stale error.json.
      on('s3:DeleteObject', report('error.json')),
    ],
    denied: [
      on('s3:GetObject', archived('processed/', 'churn.manifest.json')),
      on('s3:GetObject', report('error.json')),
      wholeBucket,
      listing('staging/'),
    ],
  },
  'handle-failure': {
    allowed: [...moveCalls('failed/'), ...folderCalls('failed/'), on('s3:PutObject', report('error.json'))],
    denied: [
      on('s3:GetObject', archived('failed/', 'churn.manifest.json')),
      on('s3:GetObject', report('error.json')),
      wholeBucket,
      listing('processed/'),
    ],
  },
  'record-execution-failure': {
    allowed: [listing(report('error.json')), on('s3:PutObject', report('error.json'))],
    denied: [on('s3:GetObject', report('error.json')), wholeBucket, listing(KEY)],
  },
};

let template: Json;
let bucketId: string;

beforeAll(() => {
  const { app, stack } = buildApp({ skipBundling: true });
  template = app.synth().getStackByName(stack.stackName).template;
  bucketId = logicalIdOfType(template, 'AWS::S3::Bucket', /^DropBucket[0-9A-F]{8}$/);
});

/** The drop bucket's ARN as `arn:aws:s3:::drop`, its object ARNs joined from it. */
function resolveResource(value: Json): string {
  if (typeof value === 'string') return value;
  if (value?.['Fn::Join']) {
    const [separator, parts] = value['Fn::Join'];
    return parts.map(resolveResource).join(separator);
  }
  if (value?.['Fn::GetAtt']?.[0] === bucketId && value['Fn::GetAtt'][1] === 'Arn') return BUCKET_ARN;
  throw new Error(`an S3 statement names another resource: ${JSON.stringify(value)}`);
}

/** The function's S3 statements, resolved to plain ARNs, as one identity policy. */
function s3PolicyOf(name: string): Json {
  const [fnId] = Object.entries(functionsByLogicalId(template)).find(([, handler]) => handler === name) ?? [];
  const role = template.Resources[fnId!].Properties.Role['Fn::GetAtt'][0] as string;
  const statements = policyStatements(template)
    .filter(
      ({ roles, statement }) =>
        roles.includes(role) && asArray<string>(statement.Action)[0]?.startsWith('s3:'),
    )
    .map(({ statement }) => ({ ...statement, Resource: asArray(statement.Resource).map(resolveResource) }));
  return { Version: '2012-10-17', Statement: statements };
}

async function decision(policy: Json, call: Call): Promise<string> {
  const result = await runSimulation(
    {
      request: {
        principal: `arn:aws:iam::${ACCOUNT}:role/function`,
        action: call.action,
        resource: { resource: call.resource, accountId: ACCOUNT },
        contextVariables: call.context ?? {},
      },
      identityPolicies: [{ name: 'role', policy }],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    },
    {},
  );
  if (result.resultType === 'error') throw new Error(JSON.stringify(result.errors));
  return result.overallResult;
}

const describeCall = ({ action, resource, context }: Call) =>
  `${action} ${resource.replace(`${BUCKET_ARN}/`, '')}${context ? ` prefix=${context['s3:prefix']}` : ''}`;

describe("each function's S3 calls against its synthesized role", () => {
  for (const [name, { allowed, denied }] of Object.entries(CALLS)) {
    it(`${name}: allows every call it makes and nothing it must not need`, async () => {
      const policy = s3PolicyOf(name);
      const decisions = async (calls: Call[]) =>
        Object.fromEntries(
          await Promise.all(calls.map(async (c) => [describeCall(c), await decision(policy, c)])),
        );
      expect(await decisions(allowed)).toEqual(
        Object.fromEntries(allowed.map((c) => [describeCall(c), 'Allowed'])),
      );
      expect(await decisions(denied)).toEqual(
        Object.fromEntries(denied.map((c) => [describeCall(c), 'ImplicitlyDenied'])),
      );
    });
  }
});
