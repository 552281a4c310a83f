// `aep-audience serve`: the local drop zone. The embedded S3 server listens on a fixed port so any S3 client
// (AWS CLI, rclone, an SDK on default settings) can put files under incoming/; each upload goes through the
// same EventBridge pattern and start-pipeline handler as in AWS (which starts a folder drop from its marker
// only) and runs the synthesized state machine.
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { ignoreReason } from '../functions/start-pipeline/start-pipeline.ts';
import type { StartedRecord } from './runner/drops.ts';
import type { LocalPipeline } from './runner/pipeline.ts';
import { LocalUsageError } from './runner/usage-error.ts';
import { printSummary } from './summary.ts';

export const DEFAULT_SERVE_PORT = 4566;
/** The S3 server accepts any key pair; the instructions show this one so a copied line just works. */
export const SERVE_ACCESS_KEY = { id: 'local', secret: 'local' };

export interface ServeOptions {
  stateDir: string;
  host: string;
  port: number;
  aepUrl?: string;
  timeScale?: number;
  /** Variables added to every function's environment (--log-level). */
  functionEnvironment?: Record<string, string>;
  /** Where the banner, the progress lines and the summaries go. */
  print: (line: string) => void;
}

export interface Serving {
  pipeline: LocalPipeline;
  /** The S3 endpoint, e.g. http://127.0.0.1:4566. */
  url: string;
  /** What became of the files found in incoming/ at start (also printed). */
  leftovers: Leftover[];
  /** Stops the running executions (ABORTED, reported), then every server. Idempotent. */
  stop(): Promise<{ interrupted: string[] }>;
}

export interface Leftover {
  key: string;
  execution: string | null;
  /** never-started | interrupted | outage | unfinished */
  state: 'never-started' | 'interrupted' | 'outage' | 'unfinished';
  detail: string;
}

export async function startServe(options: ServeOptions): Promise<Serving> {
  const { LocalPipeline } = await import('./runner/pipeline.ts');
  const pipeline = await LocalPipeline.start({
    stateDir: options.stateDir,
    aepUrl: options.aepUrl,
    timeScale: options.timeScale,
    ...(options.functionEnvironment ? { functionEnvironment: options.functionEnvironment } : {}),
    s3Host: options.host,
    s3Port: options.port,
    progressWithFile: true,
    progress: (line) => options.print(line),
    onExecutionClosed: (summary) =>
      printSummary(
        summary,
        (text) => options.print(text.replace(/\n$/, '')),
        (key) => `s3://${pipeline.bucket}/${key}`,
      ),
  }).catch((error: unknown) => {
    if ((error as { code?: string }).code === 'EADDRINUSE') {
      throw new LocalUsageError(
        `port ${options.port} on ${options.host} is already in use: stop what uses it, or pick another with --port`,
      );
    }
    throw error;
  });

  let leftovers: Leftover[];
  try {
    leftovers = await findLeftovers(pipeline);
  } catch (error) {
    await pipeline.close();
    throw error;
  }
  printBanner(pipeline, options);
  printLeftovers(leftovers, options.print);

  let stopping: Promise<{ interrupted: string[] }> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      const interrupted = await pipeline.interrupt();
      for (const execution of interrupted) {
        options.print(
          `[${execution.name}] interrupted by the stop: ABORTED; reports/${execution.name}/error.json says so, the original stays in incoming/`,
        );
      }
      await pipeline.close();
      return { interrupted: interrupted.map((e) => e.name) };
    })();
    return stopping;
  };
  return { pipeline, url: pipeline.s3Url, leftovers, stop };
}

function printBanner(pipeline: LocalPipeline, options: ServeOptions): void {
  const url = pipeline.s3Url;
  const bucket = `s3://${pipeline.bucket}`;
  const aws = `aws --endpoint-url ${url} s3`;
  const target = options.aepUrl
    ? `the AEP-compatible server at ${options.aepUrl}`
    : 'the embedded AEP simulator';
  options.print(
    [
      `aep-audience serve: S3 at ${url} (bucket ${pipeline.bucket}, path-style, any access key), AEP: ${target}.`,
      'Drop files under incoming/ with any S3 client; each CSV (or .csv.gz) starts an execution as in AWS, and so',
      'does the _SUCCESS (or Redshift manifest) of a <name>.parts/ folder, uploaded after its parts. For example:',
      '',
      `  export AWS_ACCESS_KEY_ID=${SERVE_ACCESS_KEY.id} AWS_SECRET_ACCESS_KEY=${SERVE_ACCESS_KEY.secret} AWS_DEFAULT_REGION=us-east-1`,
      `  ${aws} cp samples/customers.manifest.json ${bucket}/incoming/customers.manifest.json   # optional, first`,
      `  ${aws} cp samples/customers.csv ${bucket}/incoming/customers.csv`,
      `  ${aws} cp exports/churn.parts ${bucket}/incoming/churn.parts/ --recursive --exclude _SUCCESS`,
      `  ${aws} cp exports/churn.parts/_SUCCESS ${bucket}/incoming/churn.parts/_SUCCESS   # last: starts the run`,
      `  ${aws} ls ${bucket}/reports/ --recursive`,
      `  ${aws} cp ${bucket}/reports/<execution>/result.json -`,
      '',
      `Files are kept under ${options.stateDir}. Ctrl-C stops (running executions are reported as interrupted).`,
    ].join('\n'),
  );
}

function printLeftovers(leftovers: Leftover[], print: (line: string) => void): void {
  if (leftovers.length === 0) return;
  print(
    `\n${leftovers.length} file(s) left in incoming/ from before (not run again; upload one again to run it):`,
  );
  for (const left of leftovers) {
    print(`  ${left.key}: ${left.detail}`);
  }
  print('');
}

/**
 * The CSVs (and folder drops, by their marker) in incoming/ and what became of each: an execution ends by moving its original out, so one still
 * there never started, was interrupted, was stopped by an outage, or was cut off when the process died.
 */
export async function findLeftovers(pipeline: LocalPipeline): Promise<Leftover[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await pipeline.s3.send(
      new ListObjectsV2Command({ Bucket: pipeline.bucket, Prefix: 'incoming/', ContinuationToken: token }),
    );
    for (const object of page.Contents ?? []) {
      // What starts a run (start-pipeline's own rule): a CSV, a .csv.gz, a folder drop's completion marker.
      if (object.Key && ignoreReason(object.Key) === undefined) keys.push(object.Key);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);

  const records = pipeline.startedRecords();
  const leftovers: Leftover[] = [];
  for (const key of keys) {
    const head = await pipeline.s3.send(new HeadObjectCommand({ Bucket: pipeline.bucket, Key: key }));
    const record = latestRecord(records, key, head.VersionId);
    if (!record) {
      leftovers.push({
        key,
        execution: null,
        state: 'never-started',
        detail: 'never started (uploaded while nothing was listening)',
      });
      continue;
    }
    const report = await readJson(pipeline, `reports/${record.execution}/error.json`);
    const execution = record.execution;
    if (report?.status === 'ABORTED') {
      leftovers.push({
        key,
        execution,
        state: 'interrupted',
        detail: `execution ${execution} was interrupted by a stop`,
      });
    } else if (report) {
      leftovers.push({
        key,
        execution,
        state: 'outage',
        detail: `execution ${execution} ${String(report.status ?? 'FAILED')} at ${String(report.code)}: ${String(report.message ?? '')}`,
      });
    } else {
      leftovers.push({
        key,
        execution,
        state: 'unfinished',
        detail: `execution ${execution} started ${record.startedAt} and never finished (the process ended without a clean stop)`,
      });
    }
  }
  return leftovers;
}

function latestRecord(
  records: StartedRecord[],
  key: string,
  versionId: string | undefined,
): StartedRecord | undefined {
  const forKey = records.filter(
    (r) => r.key === key && (!versionId || !r.versionId || r.versionId === versionId),
  );
  return forKey.at(-1);
}

async function readJson(pipeline: LocalPipeline, key: string): Promise<Record<string, unknown> | undefined> {
  try {
    const object = await pipeline.s3.send(new GetObjectCommand({ Bucket: pipeline.bucket, Key: key }));
    return JSON.parse(await object.Body!.transformToString()) as Record<string, unknown>;
  } catch (error) {
    if ((error as { name?: string }).name === 'NoSuchKey') return undefined;
    throw error;
  }
}
