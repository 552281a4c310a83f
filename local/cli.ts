// The `aep-audience` command line: run files through the local pipeline, validate one, serve a drop zone, or
// ask the deployed stack (docs/contracts.md#command-line); each command takes only the flags of its table.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { commandHelp, programHelp } from './cli-help.ts';
import {
  type CommandName,
  type CommandSpec,
  commandSpec,
  commandsTaking,
  FLAGS,
  type Flag,
  TOP_LEVEL_FLAGS,
} from './cli-table.ts';
import { type DropPlan, planDrop, siblingManifestPath } from './runner/drop-plan.ts';
import type { LocalPipeline } from './runner/pipeline.ts';
import { LocalUsageError } from './runner/usage-error.ts';
import { printSummary } from './summary.ts';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

export class UsageError extends Error {
  constructor(
    message: string,
    /** The command whose usage was wrong, for the hint to its own --help. */
    readonly command?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

let processIo: Io | undefined;

/**
 * process.stdout and stderr, quiet once their reader has gone (`aep-audience ... | head -c 10`): EPIPE ends the
 * output, not the command, which finishes (an execution is not left half done) and exits with its own code.
 */
function defaultIo(): Io {
  if (processIo) return processIo;
  const closed = { stdout: false, stderr: false };
  for (const name of ['stdout', 'stderr'] as const) {
    process[name].on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
      closed[name] = true;
    });
  }
  processIo = {
    stdout: (text) => {
      if (!closed.stdout) process.stdout.write(text);
    },
    stderr: (text) => {
      if (!closed.stderr) process.stderr.write(text);
    },
  };
  return processIo;
}

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
  const sibling = siblingManifestPath(file, false);
  return sibling && existsSync(sibling) ? sibling : undefined;
}

/** What `run` uploads for one argument, refused before anything starts when it cannot be dropped. */
function dropPlanOf(source: string, manifest: string | undefined, team: string | undefined): DropPlan {
  try {
    return planDrop(source, manifest, team);
  } catch (error) {
    if (error instanceof LocalUsageError) throw new UsageError(error.message);
    throw error;
  }
}

async function runCommand(files: string[], values: FlagValues, io: Io): Promise<number> {
  if (files.length === 0) throw new UsageError('run needs at least one CSV file or folder');
  if (values.manifest && files.length > 1)
    throw new UsageError('--manifest applies to one file; give each file a sibling <name>.manifest.json');
  for (const file of files) if (!existsSync(file)) throw new UsageError(`file not found: ${file}`);
  const json = Boolean(values.json);
  const aepUrl = values['aep-url'] as string | undefined;
  const timeScale = values['time-scale'] === undefined ? undefined : Number(values['time-scale']);
  if (timeScale !== undefined && !(timeScale > 0))
    throw new UsageError('--time-scale must be a positive number');
  const plan = files.map((file) =>
    dropPlanOf(file, values.manifest as string | undefined, values.team as string | undefined),
  );

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
      plan.map(async (drop) => {
        const name = await pipeline.drop(drop);
        const what =
          drop.kind === 'folder'
            ? `${drop.source} (${drop.parts.length} file(s) then ${drop.marker.key})`
            : drop.source;
        progress(`[${name}] started for ${what}${drop.manifest ? ` with manifest ${drop.manifest}` : ''}`);
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

async function validateCommand(files: string[], values: FlagValues, io: Io): Promise<number> {
  if (files.length !== 1) throw new UsageError('validate takes exactly one CSV file or folder');
  const [file] = files as [string];
  if (!existsSync(file)) throw new UsageError(`file not found: ${file}`);
  const manifest = manifestFor(file, values.manifest as string | undefined);
  const count = (name: string, min: number) => {
    const raw = values[name];
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be a whole number ≥ ${min}`);
    return n;
  };
  const workers = count('workers', 1);
  const splitBytes = count('split-bytes', 1);
  const { validateLocalFile } = await import('./validate.ts');
  const result = await validateLocalFile(file, manifest, undefined, { workers, splitBytes });
  if (values.json) {
    io.stdout(`${JSON.stringify(result, null, 2)}\n`);
  } else {
    io.stdout(
      `${result.valid ? 'VALID' : 'INVALID'}  ${file}: ${result.rows} rows, ${result.invalidRows} invalid\n`,
    );
    for (const p of result.parts ?? [])
      io.stdout(`  part ${p.key}: ${p.rows} rows, ${p.invalidRows} invalid\n`);
    for (const f of result.fields)
      io.stdout(`  field ${f.name}: ${f.type}${f.identityNs ? ` (identity ${f.identityNs})` : ''}\n`);
    for (const e of result.errors.slice(0, 20)) io.stdout(`  ${e.code}: ${e.message}\n`);
    if (result.errors.length > 20) io.stdout(`  … ${result.errors.length - 20} more (use --json)\n`);
  }
  return result.valid ? EXIT_OK : EXIT_FAILED;
}

async function serveCommand(args: string[], values: FlagValues, io: Io): Promise<number> {
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
  const functionEnvironment = logLevelEnvironment(values['log-level']);
  let serving: Awaited<ReturnType<typeof startServe>>;
  try {
    serving = await startServe({
      stateDir: targetDir(aepUrl),
      host: (values.host as string | undefined) ?? '127.0.0.1',
      port,
      aepUrl,
      timeScale,
      ...(functionEnvironment ? { functionEnvironment } : {}),
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

/** `keep-alive`: the KeepAlive handler once, in the local runner, against the local registry and AEP. */
async function keepAliveCommand(args: string[], values: FlagValues, io: Io): Promise<number> {
  if (args.length > 0) throw new UsageError(`keep-alive takes no arguments (got ${args.join(' ')})`);
  const asOf = values['as-of'] as string | undefined;
  if (asOf !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(asOf)) {
    throw new UsageError(`--as-of must be a date YYYY-MM-DD (got "${asOf}")`);
  }
  const aepUrl = values['aep-url'] as string | undefined;
  const json = Boolean(values.json);
  const { invokeLocally } = await import('./audiences.ts');
  const report = (await withUsageErrors(() =>
    invokeLocally(
      {
        stateDir: targetDir(aepUrl),
        aepUrl,
        progress: (line) => (json ? io.stderr : io.stdout)(`${line}\n`),
      },
      'keep-alive',
      asOf === undefined ? {} : { asOf },
    ),
  )) as import('../functions/keep-alive/keep-alive.ts').KeepAliveReport;
  if (json) {
    io.stdout(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    io.stdout(
      `keep-alive as of ${report.asOf}: ${report.audiences} audience(s), ${report.extended} extended, ` +
        `${report.notices} notice(s), ${report.failed} failed\n`,
    );
    for (const r of report.results) {
      const detail = r.status === 'EXTENDED' ? ` until ${r.expiresAt}` : 'error' in r ? `: ${r.error}` : '';
      io.stdout(`  ${r.status} ${r.name} (${r.audienceId})${detail}\n`);
    }
  }
  return report.failed === 0 ? EXIT_OK : EXIT_FAILED;
}

/** `audiences [--json]` and `audiences delete <name> [--yes]`, locally or against the stack (--stack). */
async function audiencesCommand(args: string[], values: FlagValues, io: Io): Promise<number> {
  const audiences = await import('./audiences.ts');
  const json = Boolean(values.json);
  const aepUrl = values['aep-url'] as string | undefined;
  const stackFlag = values.stack as string | undefined;
  const region = values.region as string | undefined;
  const print = (text: string, value: unknown) =>
    io.stdout(json ? `${JSON.stringify(value, null, 2)}\n` : text);
  const stack = async () => {
    if (stackFlag === undefined) return undefined;
    const [{ createClients, destroyClients }, { resolveStack }] = await Promise.all([
      import('./ops/aws.ts'),
      import('./ops/stack.ts'),
    ]);
    const clients = createClients(region);
    try {
      return await resolveStack(clients.cfn, stackFlag);
    } finally {
      destroyClients(clients);
    }
  };
  if (args.length === 0) {
    const deployed = await stack();
    if (deployed && !deployed.registryTableName) {
      throw new UsageError(`stack "${deployed.stackName}" has no RegistryTableName output`);
    }
    const items = deployed?.registryTableName
      ? await audiences.stackRegistryItems(deployed.registryTableName, region)
      : await withUsageErrors(() => audiences.localRegistryItems(targetDir(aepUrl)));
    const team = values.team as string | undefined;
    // A team's audiences: the file's first folder matched exactly, as `executions --team` does.
    const list = audiences.listing(items).filter((a) => team === undefined || a.team === team);
    print(audiences.formatAudiences(list), list);
    return EXIT_OK;
  }
  const [verb, name, ...rest] = args;
  if (verb !== 'delete' || name === undefined || rest.length > 0) {
    throw new UsageError('audiences takes no arguments, or `delete <name>`', 'audiences');
  }
  const team = values.team as string | undefined;
  const payload = { name, ...(team === undefined ? {} : { team }), confirm: values.yes === true };
  const deployed = await stack();
  let result: import('../functions/delete-audience/delete-audience.ts').DeleteAudienceResult;
  if (deployed) {
    if (!deployed.deleteAudienceFunctionName) {
      throw new UsageError(
        `stack "${deployed.stackName}" has no DeleteAudienceFunctionName output: deploy this version`,
      );
    }
    const { InvokeCommand, LambdaClient } = await import('@aws-sdk/client-lambda');
    const lambda = new LambdaClient(region ? { region } : {});
    try {
      const answer = await lambda.send(
        new InvokeCommand({
          FunctionName: deployed.deleteAudienceFunctionName,
          Payload: new TextEncoder().encode(JSON.stringify(payload)),
        }),
      );
      const text = new TextDecoder().decode(answer.Payload ?? new Uint8Array());
      if (answer.FunctionError) {
        io.stderr(`aep-audience audiences delete: the function failed: ${text}\n`);
        return EXIT_FAILED;
      }
      result = JSON.parse(text);
    } finally {
      lambda.destroy();
    }
  } else {
    result = (await withUsageErrors(() =>
      audiences.invokeLocally({ stateDir: targetDir(aepUrl), aepUrl }, 'delete-audience', payload),
    )) as typeof result;
  }
  const lines =
    result.status === 'WOULD_DELETE'
      ? `Would delete "${result.name}" (run again with --yes):\n${result.steps.map((s) => `  ${s}\n`).join('')}`
      : result.status === 'DELETED'
        ? `Deleted "${result.name}" (${result.audienceId ?? 'no AEP id'}): AEP answered ${result.aep}; ` +
          `removed from ${result.flows.filter((f) => f.status === 'REMOVED').length} dataflow(s); marked deleted at ${result.deletedAt}\n`
        : result.status === 'ALREADY_DELETED'
          ? `"${result.name}" was deleted already, at ${result.deletedAt}\n`
          : `${'message' in result ? result.message : result.status}\n`;
  print(lines, result);
  return result.status === 'NOT_FOUND' || result.status === 'BUSY' ? EXIT_FAILED : EXIT_OK;
}

/** A local runner's usage problem (another run holds the state folder…) as the CLI's usage error. */
async function withUsageErrors<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof LocalUsageError) throw new UsageError(error.message);
    throw error;
  }
}

export type FlagValues = Record<string, string | boolean | undefined>;

const HANDLERS: Record<CommandName, (args: string[], values: FlagValues, io: Io) => Promise<number>> = {
  run: runCommand,
  validate: validateCommand,
  serve: serveCommand,
  executions: opsCommand('executions'),
  show: opsCommand('show'),
  redrive: opsCommand('redrive'),
  audiences: audiencesCommand,
  'keep-alive': keepAliveCommand,
};

function opsCommand(command: 'executions' | 'show' | 'redrive') {
  return async (args: string[], values: FlagValues, io: Io): Promise<number> => {
    const { runOpsCommand } = await import('./ops/index.ts');
    const text = (name: string) => (typeof values[name] === 'string' ? values[name] : undefined);
    return runOpsCommand(
      command,
      args,
      {
        stack: text('stack'),
        region: text('region'),
        status: text('status'),
        since: text('since'),
        limit: text('limit'),
        team: text('team'),
        json: values.json === true,
      },
      io,
    );
  };
}

function parseOptions(flags: readonly Flag[]) {
  return Object.fromEntries(
    flags.map((f) => [f.name, { type: f.type, ...(f.short ? { short: f.short } : {}) }]),
  ) as Record<string, { type: 'string' | 'boolean'; short?: string }>;
}

/** Where the command is in argv: the first positional, read with every flag known so that values are skipped. */
function splitCommand(argv: string[]): { command: string | undefined; rest: string[] } {
  const { tokens } = parseArgs({
    args: argv,
    options: parseOptions(Object.values(FLAGS)),
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const first = tokens.find((token) => token.kind === 'positional');
  if (!first) return { command: undefined, rest: argv };
  return { command: first.value, rest: argv.filter((_, index) => index !== first.index) };
}

/**
 * Parses a command's arguments with its own flags only: a flag of another command (or of none) is a usage
 * error that names it, the command, and which commands do take it.
 */
function parseFlags(
  command: CommandSpec | undefined,
  args: string[],
): { values: FlagValues; positionals: string[] } {
  const flags = command?.flags ?? TOP_LEVEL_FLAGS;
  const options = parseOptions(flags);
  const { tokens } = parseArgs({ args, options, strict: false, allowPositionals: true, tokens: true });
  for (const token of tokens) {
    if (token.kind !== 'option' || Object.hasOwn(options, token.name)) continue;
    const takers = commandsTaking(token.name);
    const where = takers.length ? `; it is a flag of ${takers.join(', ')}` : '';
    if (!command) throw new UsageError(`${token.rawName} needs a command before it${where}`);
    const own = flags.map((f) => `--${f.name}`).join(', ');
    throw new UsageError(
      `${command.name} does not take ${token.rawName}${where} (${command.name} takes ${own})`,
      command.name,
    );
  }
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (error) {
    if (!(error as { code?: string }).code?.startsWith?.('ERR_PARSE_ARGS')) throw error;
    const prefix = command ? `${command.name}: ` : '';
    throw new UsageError(`${prefix}${(error as Error).message}`, command?.name);
  }
}

/** The command (none for `aep-audience` alone or with --help), its flags' values and its arguments. */
export function parseCommandLine(argv: string[]): {
  command: CommandSpec | undefined;
  values: FlagValues;
  positionals: string[];
} {
  const split = splitCommand(argv);
  const command = split.command === undefined ? undefined : commandSpec(split.command);
  if (split.command !== undefined && !command) throw new UsageError(`unknown command "${split.command}"`);
  return { command, ...parseFlags(command, split.rest) };
}

export async function main(argv: string[], io: Io = defaultIo()): Promise<number> {
  let commandName: string | undefined;
  try {
    const { command, values, positionals } = parseCommandLine(argv);
    if (!command) {
      io.stdout(`${programHelp()}\n`);
      return values.help ? EXIT_OK : EXIT_USAGE;
    }
    commandName = command.name;
    if (values.help) {
      io.stdout(`${commandHelp(command)}\n`);
      return EXIT_OK;
    }
    return await HANDLERS[command.name](positionals, values, io);
  } catch (error) {
    if (error instanceof UsageError) {
      const about = error.command ?? commandName;
      io.stderr(
        `aep-audience: ${error.message}\nRun 'aep-audience${about ? ` ${about}` : ''} --help' for usage.\n`,
      );
      return EXIT_USAGE;
    }
    if ((error as Error).name === 'ConfigError') {
      io.stderr(`aep-audience: configuration error: ${(error as Error).message}\n`);
      return EXIT_USAGE;
    }
    throw error;
  }
}
