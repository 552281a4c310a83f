// The AEP the functions talk to: the embedded simulator, or any AEP-compatible URL with credentials from AEP_*;
// what its credentials secret holds and which settings the functions' environment gets for it.
import path from 'node:path';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { AepSimulator, SimulatorOptions } from '../aep-simulator/index.ts';
import { LOCAL_BUCKET } from './local-names.ts';
import { LocalUsageError } from './usage-error.ts';

export interface AepTarget {
  /** The simulator, when no --aep-url was given. */
  simulator?: AepSimulator;
  /** The AEP credentials secret's value, as Secrets Manager would hold it. */
  secret: Record<string, string>;
  /** Variables every function's environment gets for this target (the AEP client's retry settings). */
  environment: Record<string, string>;
  close(): Promise<void>;
}

export async function startAepTarget(options: {
  aepUrl?: string;
  timeScale: number;
  /** Where the simulator keeps its state; none keeps it in memory. */
  dataRoot?: string;
  simulator?: Partial<SimulatorOptions>;
  /** The runner's S3 client: the simulator counts the files its S3 source connection sees. */
  s3: () => S3Client;
}): Promise<AepTarget> {
  if (options.aepUrl) return { ...aepSettingsFromProcess(options.aepUrl), close: async () => undefined };
  const { startAepSimulator, SIMULATOR_DEFAULT_CREDENTIALS } = await import('../aep-simulator/index.ts');
  const { timeScale } = options;
  const simulator = await startAepSimulator({
    timeScale,
    statePath: options.dataRoot ? path.join(options.dataRoot, 'aep-simulator.json') : undefined,
    // Like AEP, a run only finds the files that the S3 source connection can see in its time window.
    sourceFiles: (sourcePath, start, end) => countSourceFiles(options.s3(), sourcePath, start, end),
    ...options.simulator,
  });
  return {
    simulator,
    secret: { ...SIMULATOR_DEFAULT_CREDENTIALS, imsUrl: simulator.url, platformUrl: simulator.url },
    environment: {
      // Client backoff is simulated time too, so an outage past all retries takes milliseconds.
      AEP_RETRY_BASE_MS: String(Math.max(1, Math.round(1000 / timeScale))),
      AEP_RETRY_MAX_DELAY_MS: String(Math.max(1, Math.round(60_000 / timeScale))),
    },
    close: () => simulator.close(),
  };
}

/** Objects in the staging folder `sourcePath` (with or without the bucket) modified within [start, end]. */
async function countSourceFiles(
  s3: S3Client,
  sourcePath: string,
  startSec: number,
  endSec?: number,
): Promise<number> {
  const folder = sourcePath.startsWith(`${LOCAL_BUCKET}/`)
    ? sourcePath.slice(LOCAL_BUCKET.length + 1)
    : sourcePath;
  const listed = await s3.send(
    new ListObjectsV2Command({ Bucket: LOCAL_BUCKET, Prefix: `${folder.replace(/\/+$/, '')}/` }),
  );
  return (listed.Contents ?? []).filter((o) => {
    const modified = Math.floor((o.LastModified?.getTime() ?? 0) / 1000);
    return modified >= startSec && (endSec === undefined || modified <= endSec);
  }).length;
}

/**
 * With --aep-url: the secret's value from the AEP_* variables, and the client's retry settings if set. The
 * sandbox and base connection are only needed for files outside every configured team (a team brings its own):
 * without them, such a file fails with CONFIG_INVALID naming the missing key.
 */
function aepSettingsFromProcess(aepUrl: string): {
  secret: Record<string, string>;
  environment: Record<string, string>;
} {
  const keys = {
    clientId: 'AEP_CLIENT_ID',
    clientSecret: 'AEP_CLIENT_SECRET',
    orgId: 'AEP_ORG_ID',
  };
  const optional = { sandboxName: 'AEP_SANDBOX_NAME', baseConnectionId: 'AEP_BASE_CONNECTION_ID' };
  const missing = Object.values(keys).filter((name) => !process.env[name]);
  if (missing.length) {
    throw new LocalUsageError(`--aep-url needs the environment variables ${missing.join(', ')}`);
  }
  const base = aepUrl.replace(/\/+$/, '');
  const secret: Record<string, string> = { imsUrl: base, platformUrl: base };
  for (const [key, name] of Object.entries(keys)) secret[key] = process.env[name] ?? '';
  for (const [key, name] of Object.entries(optional)) {
    const value = process.env[name];
    if (value) secret[key] = value;
  }
  if (process.env.AEP_SCOPES) secret.scopes = process.env.AEP_SCOPES;
  const environment: Record<string, string> = {};
  for (const name of ['AEP_RETRY_BASE_MS', 'AEP_RETRY_MAX_DELAY_MS']) {
    const value = process.env[name];
    if (value) environment[name] = value;
  }
  return { secret, environment };
}
