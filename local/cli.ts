// The `aep-audience` command line: run files through the local pipeline, or validate one (DESIGN §5).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { LocalPipeline } from './runner/pipeline.ts';
import { printSummary } from './summary.ts';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

const HELP = `aep-audience: turn a customer CSV into an activated AEP external audience, on this machine.

Usage:
  aep-audience run <file.csv>... [--manifest m.json] [--aep-url URL] [--s3-endpoint URL] [--bundles]
                   [--log-level L] [--json]
  aep-audience validate <file.csv> [--manifest m.json] [--json]
  aep-audience serve [--port 4566] [--host 127.0.0.1] [--aep-url URL]
  aep-audience executions [--status S] [--since 24h|2026-11-28] [--limit N] [--stack NAME] [--region R] [--json]
  aep-audience show <execution> [--stack NAME] [--region R] [--json]
  aep-audience redrive <execution> [--stack NAME] [--region R] [--json]
  aep-audience --help

Commands:
  run        Drops each file into the embedded S3 bucket under incoming/, which starts the same state
             machine that 'cdk synth' produces, with the real Lambda handlers, against the embedded AEP
             simulator (or --aep-url). Prints progress state by state and a summary.
  validate   Validates a file as the pipeline would, writing nothing (a dry run).
  serve      A local drop zone: the embedded S3 server on --port, so any S3 client (aws s3 cp, rclone, an SDK)
             can put files under incoming/; each CSV starts an execution as the EventBridge rule does in AWS,
             progress is printed as it happens, reports are read back through the same endpoint. Ctrl-C stops.

Operator commands, against the deployed stack (found by its CloudFormation outputs, with the AWS SDK's
default credentials: AWS_PROFILE, environment, SSO...):
  executions Recent executions, newest first: start, status, duration, stage reached, audience, file.
  show       One execution (name or ARN): its states in order, retries, failures, redrives, and its reports.
  redrive    Resumes an execution an outage stopped, at the task that failed (Step Functions redrive).
             Refuses one the file made fail: fix the file and upload it again instead.

Options:
  --manifest m.json  The file's manifest (DESIGN §3). Default: <file>.manifest.json beside the CSV, if any.
                     With several files, each uses its own sibling manifest.
  --aep-url URL      Any AEP-compatible server: IMS at URL/ims/token/v3, Platform under URL/data/...
                     Credentials from AEP_CLIENT_ID, AEP_CLIENT_SECRET, AEP_ORG_ID, AEP_SANDBOX_NAME,
                     AEP_BASE_CONNECTION_ID and optionally AEP_SCOPES.
  --time-scale N     Simulated seconds per real second for Wait states and retries
                     (default 1000 with the simulator, 10 with --aep-url).
  --s3-endpoint URL  run: S3 at URL instead of the embedded server, judged by that endpoint's own IAM
                     (moto_server): the runner creates the bucket and each function's role there, and each
                     function signs with its role's credentials (AssumeRole). The administrator's key comes
                     from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
  --bundles          run: the functions' code from the bundles 'cdk synth' writes (index.mjs) instead of the
                     TypeScript sources.
  --log-level L      run, serve: the functions' LOG_LEVEL (DEBUG, INFO, WARN, ERROR; default the
                     template's, INFO).
  --json             JSON on stdout and nothing else there: one object per file, an array for several.
  --stack NAME       The deployed stack (default: cdk.json's pipeline.stackName, AepAudiencePipeline).
  --region R         Its region (default: the SDK's, from AWS_REGION or the profile).
  --status S         executions: RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED or PENDING_REDRIVE.
  --since T          executions: started within a span (90m, 24h, 7d) or since a date (2026-11-28).
  --limit N          executions: at most N (default 50).
  --port N           serve: the S3 port (default 4566; 0 = any free port).
  --host H           serve: the address to listen on (default 127.0.0.1, this machine only).
  -h, --help         This text.

Local state (S3 data, reports, audience registry, simulator) lives under .local/<target>/; delete that
folder to start afresh. Each function runs in execution environments of its own with only its synthesized
environment, and every AWS call it makes is authorized against its synthesized IAM statements and the
resource policies, as AWS would: a refused call fails the task with AccessDenied, naming the function, the
action and the resource.

Exit codes: 0 all succeeded / valid, 1 a pipeline failure / invalid file, 2 usage or configuration error.`;

class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const defaultIo: Io = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

export function localRoot(): string {
  return process.env.AEP_AUDIENCE_LOCAL_DIR ?? path.join(process.cwd(), '.local');
}

function urlSlug(value: string, flag: string): string {
  let slug: string;
  try {
    const url = new URL(value);
    slug = `${url.hostname}-${url.port || (url.protocol === 'https:' ? '443' : '80')}${url.pathname}`;
  } catch {
    throw new UsageError(`${flag} is not a URL: ${value}`);
  }
  return slug.replace(/[^A-Za-z0-9.-]+/g, '-').replace(/-+$/, '');
}

/**
 * `.local/simulator`, or `.local/aep-<host>-<port>` for another AEP target; with another S3 endpoint,
 * `-s3-<host>-<port>` after it (the registry names staging folders of that bucket): state is kept per target.
 */
export function targetDir(aepUrl: string | undefined, s3Endpoint?: string): string {
  const aep = aepUrl ? `aep-${urlSlug(aepUrl, '--aep-url')}` : 'simulator';
  const s3 = s3Endpoint ? `-s3-${urlSlug(s3Endpoint, '--s3-endpoint')}` : '';
  return path.join(localRoot(), `${aep}${s3}`);
}

const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR'];

/** `--log-level` as the functions' environment, or nothing (the template's level). */
function logLevelEnvironment(value: unknown): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  const level = String(value).toUpperCase();
  if (!LOG_LEVELS.includes(level))
    throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  return { LOG_LEVEL: level, POWERTOOLS_LOG_LEVEL: level };
}

function manifestFor(file: string, explicit: string | undefined): string | undefined {
  if (explicit) {
    if (!existsSync(explicit)) throw new UsageError(`manifest not found: ${explicit}`);
    return explicit;
  }
  const sibling = file.replace(/\.csv$/i, '.manifest.json');
  return sibling !== file && existsSync(sibling) ? sibling : undefined;
}

async function runCommand(files: string[], values: Record<string, unknown>, io: Io): Promise<number> {
  if (files.length === 0) throw new UsageError('run needs at least one CSV file');
  if (values.manifest && files.length > 1)
    throw new UsageError('--manifest applies to one file; give each file a sibling <name>.manifest.json');
  for (const file of files) if (!existsSync(file)) throw new UsageError(`file not found: ${file}`);
  const json = Boolean(values.json);
  const aepUrl = values['aep-url'] as string | undefined;
  const timeScale = values['time-scale'] === undefined ? undefined : Number(values['time-scale']);
  if (timeScale !== undefined && !(timeScale > 0))
    throw new UsageError('--time-scale must be a positive number');
  const plan = files.map((file) => ({
    file,
    manifest: manifestFor(file, values.manifest as string | undefined),
  }));

  const s3Endpoint = values['s3-endpoint'] as string | undefined;
  const functionEnvironment = logLevelEnvironment(values['log-level']);
  const stateDir = targetDir(aepUrl, s3Endpoint);
  const runner = await import('./runner/pipeline.ts');
  const progress = (line: string) => (json ? io.stderr : io.stdout)(`${line}\n`);
  let pipeline: LocalPipeline;
  try {
    pipeline = await runner.LocalPipeline.start({
      stateDir,
      aepUrl,
      timeScale,
      progress,
      ...(s3Endpoint ? { s3Endpoint } : {}),
      ...(values.bundles ? { code: 'bundle' as const } : {}),
      ...(functionEnvironment ? { functionEnvironment } : {}),
    });
  } catch (error) {
    if (error instanceof runner.LocalUsageError) throw new UsageError(error.message);
    throw error;
  }
  try {
    const names = await Promise.all(
      plan.map(async ({ file, manifest }) => {
        const name = await pipeline.dropFile(file, { manifest });
        progress(`[${name}] started for ${file}${manifest ? ` with manifest ${manifest}` : ''}`);
        return name;
      }),
    );
    const summaries = await Promise.all(names.map((name) => pipeline.waitFor(name)));
    if (json) {
      io.stdout(`${JSON.stringify(summaries.length === 1 ? summaries[0] : summaries, null, 2)}\n`);
    } else {
      for (const summary of summaries) {
        const hint =
          summary.error?.code === 'AEP_AUDIENCE_RUN_LIMIT'
            ? `to start afresh locally, delete ${stateDir} (it holds the registry and the ${aepUrl ? 'local copy of the target' : 'simulator'} state together)`
            : summary.error?.code === 'AEP_UNAVAILABLE'
              ? 'AEP was unavailable past all retries; the original stays in incoming/ for a redrive.'
              : undefined;
        printSummary(summary, io.stdout, (key) => pipeline.localPath(key), hint);
      }
    }
    return summaries.every((s) => s.status === 'SUCCEEDED') ? EXIT_OK : EXIT_FAILED;
  } finally {
    await pipeline.close();
  }
}

async function validateCommand(files: string[], values: Record<string, unknown>, io: Io): Promise<number> {
  if (files.length !== 1) throw new UsageError('validate takes exactly one CSV file');
  const [file] = files as [string];
  if (!existsSync(file)) throw new UsageError(`file not found: ${file}`);
  const manifest = manifestFor(file, values.manifest as string | undefined);
  const { validateLocalFile } = await import('./validate.ts');
  const result = await validateLocalFile(file, manifest);
  if (values.json) {
    io.stdout(`${JSON.stringify(result, null, 2)}\n`);
  } else {
    io.stdout(
      `${result.valid ? 'VALID' : 'INVALID'}  ${file}: ${result.rows} rows, ${result.invalidRows} invalid\n`,
    );
    for (const f of result.fields)
      io.stdout(`  field ${f.name}: ${f.type}${f.identityNs ? ` (identity ${f.identityNs})` : ''}\n`);
    for (const e of result.errors.slice(0, 20)) io.stdout(`  ${e.code}: ${e.message}\n`);
    if (result.errors.length > 20) io.stdout(`  … ${result.errors.length - 20} more (use --json)\n`);
  }
  return result.valid ? EXIT_OK : EXIT_FAILED;
}

async function serveCommand(args: string[], values: Record<string, unknown>, io: Io): Promise<number> {
  if (args.length > 0)
    throw new UsageError(`serve takes no files (got ${args.join(' ')}): upload them instead`);
  const { DEFAULT_SERVE_PORT, startServe } = await import('./serve.ts');
  const port = values.port === undefined ? DEFAULT_SERVE_PORT : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError('--port must be a port number (0-65535)');
  const aepUrl = values['aep-url'] as string | undefined;
  const timeScale = values['time-scale'] === undefined ? undefined : Number(values['time-scale']);
  if (timeScale !== undefined && !(timeScale > 0))
    throw new UsageError('--time-scale must be a positive number');
  const { LocalUsageError } = await import('./runner/pipeline.ts');
  let serving: Awaited<ReturnType<typeof startServe>>;
  try {
    serving = await startServe({
      stateDir: targetDir(aepUrl),
      host: (values.host as string | undefined) ?? '127.0.0.1',
      port,
      aepUrl,
      timeScale,
      print: (line) => io.stdout(`${line}\n`),
    });
  } catch (error) {
    if (error instanceof LocalUsageError) throw new UsageError(error.message);
    throw error;
  }
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  io.stdout(`\n${signal}: stopping…\n`);
  const { interrupted } = await serving.stop();
  io.stdout(`stopped${interrupted.length ? ` (${interrupted.length} execution(s) interrupted)` : ''}.\n`);
  return EXIT_OK;
}

export async function main(argv: string[], io: Io = defaultIo): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        manifest: { type: 'string' },
        'aep-url': { type: 'string' },
        'time-scale': { type: 'string' },
        's3-endpoint': { type: 'string' },
        bundles: { type: 'boolean' },
        'log-level': { type: 'string' },
        json: { type: 'boolean' },
        port: { type: 'string' },
        host: { type: 'string' },
        stack: { type: 'string' },
        region: { type: 'string' },
        status: { type: 'string' },
        since: { type: 'string' },
        limit: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    const [command, ...files] = positionals;
    if (values.help || !command) {
      io.stdout(`${HELP}\n`);
      return values.help ? EXIT_OK : EXIT_USAGE;
    }
    if (command === 'run') return await runCommand(files, values, io);
    if (command === 'validate') return await validateCommand(files, values, io);
    if (command === 'serve') return await serveCommand(files, values, io);
    if (command === 'executions' || command === 'show' || command === 'redrive') {
      const { runOpsCommand } = await import('./ops/index.ts');
      return await runOpsCommand(command, files, values, io);
    }
    throw new UsageError(`unknown command "${command}"`);
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith?.('ERR_PARSE_ARGS')) {
      io.stderr(`aep-audience: ${(error as Error).message}\nRun 'aep-audience --help' for usage.\n`);
      return EXIT_USAGE;
    }
    if ((error as Error).name === 'ConfigError') {
      io.stderr(`aep-audience: configuration error: ${(error as Error).message}\n`);
      return EXIT_USAGE;
    }
    throw error;
  }
}
