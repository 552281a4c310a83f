// S3 for the local pipeline: the embedded server, or an endpoint with IAM of its own (moto) that judges every
// function's calls by the role the runner makes there from the function's synthesized statements.
import path from 'node:path';
import type { TemplatePolicies } from '../iam/template-policies.ts';
import type { S3ObjectCreated } from '../s3-server/index.ts';
import { LOCAL_BUCKET } from './local-names.ts';
import type { AwsCredentials, S3JudgeTarget } from './moto.ts';
import { LOCAL_REGION } from './synthesized.ts';

export interface S3Backend {
  /** Where the gateway sends the allowed S3 calls, and where people point an S3 client. */
  url: string;
  /** The runner's own key: the team's uploads and the report reads go through unchecked, as the stack owner's. */
  admin: AwsCredentials;
  /** With an endpoint of its own IAM: each function's role and AssumeRole credentials there. */
  judge?: S3JudgeTarget;
  close(): Promise<void>;
}

export async function startS3Backend(options: {
  /** S3 at this endpoint (moto's server) instead of the embedded server. */
  s3Endpoint?: string;
  /** The embedded server keeps its objects under `<dataRoot>/s3`. */
  dataRoot: string;
  host?: string;
  port?: number;
  policies: TemplatePolicies;
  /** The embedded server's S3 Object Created events (an endpoint such as moto sends none). */
  onObjectCreated: (event: S3ObjectCreated) => void;
}): Promise<S3Backend> {
  if (options.s3Endpoint) {
    const moto = await import('./moto.ts');
    const admin = moto.adminCredentialsFromEnvironment();
    const url = options.s3Endpoint.replace(/\/+$/, '');
    const judge = await moto.prepareS3Judge({
      endpoint: url,
      region: LOCAL_REGION,
      admin,
      bucket: LOCAL_BUCKET,
      roles: Object.values(options.policies.functions).map((fn) => ({
        functionName: fn.function,
        roleName: fn.roleLogicalId,
        policies: fn.identityPolicies.map((p) => ({ name: p.name, document: p.policy })),
      })),
    });
    return { url, admin, judge, close: async () => undefined };
  }
  const { startS3Server } = await import('../s3-server/index.ts');
  const server = await startS3Server({
    dataDir: path.join(options.dataRoot, 's3'),
    buckets: [LOCAL_BUCKET],
    ...(options.host ? { host: options.host } : {}),
    ...(options.port !== undefined ? { port: options.port } : {}),
    onObjectCreated: options.onObjectCreated,
  });
  return {
    url: server.url,
    admin: { accessKeyId: 'LOCALADMINISTRATOR', secretAccessKey: 'local' },
    close: () => server.close(),
  };
}
