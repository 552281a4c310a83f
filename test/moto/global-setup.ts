// The moto suite's judge: the S3 + IAM + STS endpoint at MOTO_URL (CI starts moto_server), or a moto_server
// started here on a free loopback port. Either way its IAM enforcement is on from the fourth request: the
// three before it create the administrator whose key the tests and the runner then use.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { connect, createServer } from 'node:net';
import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  IAMClient,
  PutUserPolicyCommand,
} from '@aws-sdk/client-iam';
import type { TestProject } from 'vitest/node';

/** Requests moto serves before it authenticates: exactly the three that create the administrator. */
export const NO_AUTH_REQUESTS = 3;

declare module 'vitest' {
  export interface ProvidedContext {
    motoUrl: string;
    motoAdmin: { accessKeyId: string; secretAccessKey: string };
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Waits until the port accepts a TCP connection: no HTTP request, so none of moto's unauthenticated ones. */
async function waitForPort(port: number, child: ChildProcess | undefined, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`moto_server exited with ${child.exitCode}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.end();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`moto_server did not listen on 127.0.0.1:${port} within ${ms} ms`);
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let child: ChildProcess | undefined;
  let url = process.env.MOTO_URL?.replace(/\/+$/, '');
  if (!url) {
    if (spawnSync('moto_server', ['--help'], { stdio: 'ignore' }).status !== 0) {
      throw new Error('the moto suite needs moto_server (pip package moto[server]) on the PATH, or MOTO_URL');
    }
    const port = await freePort();
    child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], {
      env: { ...process.env, INITIAL_NO_AUTH_ACTION_COUNT: String(NO_AUTH_REQUESTS) },
      stdio: 'ignore',
    });
    await waitForPort(port, child);
    url = `http://127.0.0.1:${port}`;
  }
  const iam = new IAMClient({
    endpoint: url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'bootstrap', secretAccessKey: 'bootstrap' },
  });
  await iam.send(new CreateUserCommand({ UserName: 'pipeline-admin' }));
  await iam.send(
    new PutUserPolicyCommand({
      UserName: 'pipeline-admin',
      PolicyName: 'administrator',
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
      }),
    }),
  );
  const key = (await iam.send(new CreateAccessKeyCommand({ UserName: 'pipeline-admin' }))).AccessKey;
  iam.destroy();
  if (!key?.AccessKeyId || !key.SecretAccessKey)
    throw new Error('moto created no access key for the administrator');
  project.provide('motoUrl', url);
  project.provide('motoAdmin', { accessKeyId: key.AccessKeyId, secretAccessKey: key.SecretAccessKey });
  return async () => {
    child?.kill();
  };
}
