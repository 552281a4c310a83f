// Runs the Lambda functions as Lambda does: each execution environment is a worker thread with the function's
// own environment and module graph, taking one invocation at a time; concurrent invocations get more
// environments (cold starts), idle ones are reused, and timeouts, crashes and init errors come back as the
// Lambda service reports them to Step Functions.
import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { LOCAL_ACCOUNT, LOCAL_REGION } from './synthesized.ts';
import { PROJECT_ROOT } from './template.ts';

export interface LambdaFunctionSpec {
  /** The handler folder, e.g. `archive-file`; invocations name a function by it (or by its logical id). */
  name: string;
  /** The template's logical id: the function's name locally (AWS_LAMBDA_FUNCTION_NAME, its ARN). */
  logicalId: string;
  /** Repository-relative TypeScript handler, e.g. `functions/archive-file/handler.ts` (source mode). */
  handlerFile: string;
  /** The cloud assembly's asset folder holding `index.mjs` (bundle mode). */
  bundleDir?: string;
  /** The function's whole configured environment; the pool adds Lambda's runtime variables to it. */
  environment: Record<string, string>;
  timeoutSeconds: number;
  memoryMb: number;
}

export type LambdaCodeMode = 'source' | 'bundle';

export interface LambdaPoolOptions {
  /** `source`: the TypeScript handlers through tsx; `bundle`: the synthesized `index.mjs` bundles. */
  code: LambdaCodeMode;
  functions: LambdaFunctionSpec[];
  /** Execution environments one function may have at once; invocations beyond them queue. */
  maxInstancesPerFunction?: number;
  /** Execution environments of all functions together; an idle one of another function is retired for room. */
  maxInstances?: number;
  /** Each line a function's code writes to stdout or stderr (default: the parent's stderr, prefixed). */
  onLogLine?: (functionName: string, line: string) => void;
  /** Where `handlerFile` is relative to (default: this repository). */
  projectRoot?: string;
}

export interface LambdaFunctionStats {
  /** Live execution environments (initializing, busy or idle). */
  instances: number;
  busy: number;
  /** Invocations waiting for an environment. */
  queued: number;
  /** Environments started, the failed inits included. */
  coldStarts: number;
  invocations: number;
}

/** Lambda's error document for a failed invocation, as Step Functions receives it. */
export interface LambdaErrorDocument {
  errorType: string;
  errorMessage: string;
  trace?: string[];
}

/**
 * A failed invocation: `name` is the errorType Step Functions matches (Retry/Catch `ErrorEquals`), `message`
 * the Cause it records, `{"errorType":…,"errorMessage":…}`.
 */
export class LambdaInvocationError extends Error {
  readonly errorType: string;
  readonly errorMessage: string;
  readonly trace: string[];

  constructor(document: LambdaErrorDocument) {
    super(JSON.stringify({ errorType: document.errorType, errorMessage: document.errorMessage }));
    this.name = document.errorType;
    this.errorType = document.errorType;
    this.errorMessage = document.errorMessage;
    this.trace = document.trace ?? [];
  }
}

/**
 * Sized for 2 cores and 24 GiB: an environment costs 30–70 MB of RSS (measured with the real functions), so 64
 * stay under 5 GB; the caps are there so that a burst does not start dozens of cold starts (150–450 ms of CPU
 * each) on two cores at once.
 */
export const DEFAULT_MAX_INSTANCES_PER_FUNCTION = 16;
export const DEFAULT_MAX_INSTANCES = 64;
/** Lambda gives an on-demand init 10 s before it retries it within the invocation's own timeout. */
const INIT_GRACE_MS = 10_000;
const RUNTIME_ID = 'AWS_Lambda_nodejs24.x';
const HANDLER_STRING = 'index.handler';
/** The Invoke API's limit on a synchronous response. */
const MAX_RESPONSE_BYTES = 6_291_556;
const WORKER_FILE = new URL('./lambda-worker.mjs', import.meta.url);

interface Invocation {
  requestId: string;
  payload: string;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

interface FunctionState {
  spec: LambdaFunctionSpec;
  /** Bumped by updateEnvironment: environments of an older generation retire instead of taking work. */
  generation: number;
  instances: Set<Instance>;
  /** Idle environments, the most recently used last (reused first). */
  idle: Instance[];
  queue: Invocation[];
  coldStarts: number;
  invocations: number;
}

type InstanceState = 'init' | 'busy' | 'idle' | 'gone';

interface Instance {
  fn: FunctionState;
  worker: Worker;
  generation: number;
  state: InstanceState;
  current: Invocation | undefined;
  timer: NodeJS.Timeout | undefined;
  /** Set once the worker is known to be ending (timeout, crash, retirement): it takes no more work. */
  ending: boolean;
  /** When it last became idle (Date.now()). */
  idleSince: number;
  /** What a worker-level error (out of memory) says, for the exit that follows it. */
  exitReason: string | undefined;
  lines: Map<string, LineBuffer>;
  exited: Promise<void>;
}

type WorkerMessage =
  | { type: 'output'; stream: string; text: string }
  | { type: 'ready'; initMs: number }
  | { type: 'init-error'; error: LambdaErrorDocument }
  | { type: 'result'; requestId: string; body: string }
  | { type: 'error'; requestId: string; error: LambdaErrorDocument; fatal?: boolean };

/** Splits a stream of text into lines, keeping the unfinished one until more comes or the stream ends. */
class LineBuffer {
  private pending = '';

  constructor(private readonly emit: (line: string) => void) {}

  push(text: string): void {
    const parts = (this.pending + text).split('\n');
    this.pending = parts.pop() ?? '';
    for (const line of parts) this.emit(line.endsWith('\r') ? line.slice(0, -1) : line);
  }

  end(): void {
    if (this.pending !== '') this.emit(this.pending);
    this.pending = '';
  }
}

function functionArn(logicalId: string): string {
  return `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${logicalId}`;
}

/** `2026/01/31/[$LATEST]<32 hex>`: one stream per execution environment, as in CloudWatch Logs. */
function logStreamName(): string {
  const day = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
  return `${day}/[$LATEST]${randomBytes(16).toString('hex')}`;
}

/** An X-Ray trace header for one invocation (the functions have active tracing). */
function traceHeader(): string {
  const epoch = Math.floor(Date.now() / 1000).toString(16);
  return `Root=1-${epoch}-${randomBytes(12).toString('hex')};Parent=${randomBytes(8).toString('hex')};Sampled=1`;
}

function exitMessage(requestId: string, code: number, reason: string | undefined): LambdaErrorDocument {
  if (reason) return { errorType: 'Runtime.OutOfMemory', errorMessage: `RequestId: ${requestId} ${reason}` };
  const detail =
    code === 0
      ? 'Runtime exited without providing a reason'
      : `Runtime exited with error: exit status ${code}`;
  return { errorType: 'Runtime.ExitError', errorMessage: `RequestId: ${requestId} Error: ${detail}` };
}

/**
 * Execution environments for a set of functions. Where it differs from Lambda: TZ is set but the time zone is
 * the process's (a worker cannot change it); memory bounds the V8 heap, not the whole environment; writes to
 * file descriptors 1 and 2 made without process.stdout/stderr (fs.writeSync(1, …)) reach the parent's own;
 * there is no Runtime API (AWS_LAMBDA_RUNTIME_API), no START/END/REPORT lines and no freezing between
 * invocations (an idle environment's timers run).
 */
export class LambdaPool {
  private readonly functions = new Map<string, FunctionState>();
  private readonly byName = new Map<string, FunctionState>();
  private readonly maxPerFunction: number;
  private readonly maxInstances: number;
  private readonly onLogLine: (functionName: string, line: string) => void;
  private readonly projectRoot: string;
  /** Every worker not yet exited, retired ones included, so close() returns only once all threads are gone. */
  private readonly running = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly options: LambdaPoolOptions) {
    this.maxPerFunction = options.maxInstancesPerFunction ?? DEFAULT_MAX_INSTANCES_PER_FUNCTION;
    this.maxInstances = options.maxInstances ?? DEFAULT_MAX_INSTANCES;
    this.onLogLine = options.onLogLine ?? ((fn, line) => process.stderr.write(`[${fn}] ${line}\n`));
    this.projectRoot = options.projectRoot ?? PROJECT_ROOT;
    for (const spec of options.functions) {
      if (options.code === 'bundle' && !spec.bundleDir) {
        throw new Error(`function ${spec.name} has no bundleDir, which bundle mode needs`);
      }
      const state: FunctionState = {
        spec: { ...spec, environment: { ...spec.environment } },
        generation: 0,
        instances: new Set(),
        idle: [],
        queue: [],
        coldStarts: 0,
        invocations: 0,
      };
      this.functions.set(spec.name, state);
      this.byName.set(spec.name, state);
      this.byName.set(spec.logicalId, state);
    }
  }

  /**
   * Invokes a function (by folder name or logical id) as a synchronous Lambda Invoke: resolves to the JSON
   * result, or rejects with a LambdaInvocationError shaped as Step Functions reports it.
   */
  invoke(name: string, payload: unknown): Promise<unknown> {
    const fn = this.byName.get(name);
    if (!fn) {
      const error = new Error(`Function not found: ${functionArn(name)}`);
      error.name = 'ResourceNotFoundException';
      return Promise.reject(error);
    }
    if (this.closed) return Promise.reject(new Error('the Lambda pool is closed'));
    // What crosses to the function is JSON, as the Invoke API carries it; no payload is an empty object.
    const body = payload === undefined ? '{}' : JSON.stringify(payload);
    fn.invocations += 1;
    return new Promise((resolve, reject) => {
      fn.queue.push({ requestId: randomUUID(), payload: body, resolve, reject });
      this.pump();
    });
  }

  /**
   * Changes functions' environments as UpdateFunctionConfiguration does (`undefined` removes a variable):
   * invocations from now on get new environments (cold starts); running ones finish on the old settings.
   */
  updateEnvironment(name: string, vars: Record<string, string | undefined>): void {
    const targets = name === '*' ? [...this.functions.values()] : [this.byName.get(name)];
    for (const fn of targets) {
      if (!fn) throw new Error(`no function named ${name}`);
      for (const [key, value] of Object.entries(vars)) {
        if (value === undefined) delete fn.spec.environment[key];
        else fn.spec.environment[key] = value;
      }
      fn.generation += 1;
      for (const instance of fn.idle.splice(0)) this.retire(instance);
    }
    this.pump();
  }

  stats(): Record<string, LambdaFunctionStats> {
    const out: Record<string, LambdaFunctionStats> = {};
    for (const [name, fn] of this.functions) {
      out[name] = {
        instances: fn.instances.size,
        busy: [...fn.instances].filter((i) => i.current !== undefined).length,
        queued: fn.queue.length,
        coldStarts: fn.coldStarts,
        invocations: fn.invocations,
      };
    }
    return out;
  }

  /** Stops every environment; invocations still queued or running are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    for (const fn of this.functions.values()) {
      for (const invocation of fn.queue.splice(0)) invocation.reject(new Error('the Lambda pool is closed'));
      fn.idle.length = 0;
      for (const instance of fn.instances) {
        if (instance.current) this.settle(instance, new Error('the Lambda pool is closed'));
        this.retire(instance);
      }
    }
    await Promise.all(this.running);
  }

  private liveInstances(): number {
    let count = 0;
    for (const fn of this.functions.values()) count += fn.instances.size;
    return count;
  }

  /** Hands queued invocations to idle environments, or to new ones while the caps allow. */
  private pump(): void {
    if (this.closed) return;
    for (const fn of this.functions.values()) {
      while (fn.queue.length > 0) {
        const idle = fn.idle.pop();
        if (idle) {
          this.run(idle, fn.queue.shift()!);
          continue;
        }
        if (fn.instances.size >= this.maxPerFunction) break;
        if (this.liveInstances() >= this.maxInstances && !this.retireOldestIdle()) break;
        const invocation = fn.queue.shift()!;
        let instance: Instance;
        try {
          instance = this.start(fn);
        } catch (error) {
          invocation.reject(error instanceof Error ? error : new Error(String(error)));
          continue;
        }
        this.run(instance, invocation);
      }
    }
  }

  /** Makes room under maxInstances: the environment idle longest, of any function, goes. */
  private retireOldestIdle(): boolean {
    let oldest: Instance | undefined;
    for (const fn of this.functions.values()) {
      const candidate = fn.idle[0];
      if (candidate && (!oldest || candidate.idleSince < oldest.idleSince)) oldest = candidate;
    }
    if (!oldest) return false;
    this.retire(oldest);
    return true;
  }

  /** A cold start: a new worker with the function's environment, loading its code. */
  private start(fn: FunctionState): Instance {
    const { spec } = fn;
    const entry =
      this.options.code === 'bundle'
        ? path.join(spec.bundleDir!, 'index.mjs')
        : path.resolve(this.projectRoot, spec.handlerFile);
    const worker = new Worker(WORKER_FILE, {
      name: `lambda:${spec.name}`,
      env: this.environmentOf(spec, path.dirname(entry)),
      // Only the runtime's own flags, as Lambda starts node: nothing inherited from the parent's command line.
      execArgv: [],
      stdout: true,
      stderr: true,
      // The function's memory bounds its heap; exceeding it ends the environment as Lambda's OOM kill does.
      resourceLimits: { maxOldGenerationSizeMb: spec.memoryMb },
      workerData: {
        code: this.options.code,
        entry,
        exportName: 'handler',
        handlerString: HANDLER_STRING,
        sourceMaps: /--enable-source-maps\b/.test(spec.environment.NODE_OPTIONS ?? ''),
      },
    });
    let exited!: () => void;
    const instance: Instance = {
      fn,
      worker,
      generation: fn.generation,
      state: 'init',
      current: undefined,
      timer: undefined,
      ending: false,
      idleSince: 0,
      exitReason: undefined,
      lines: new Map(),
      exited: new Promise((resolve) => {
        exited = resolve;
      }),
    };
    fn.instances.add(instance);
    fn.coldStarts += 1;
    this.running.add(instance.exited);
    void instance.exited.then(() => this.running.delete(instance.exited));
    const lines = (stream: string) => {
      let buffer = instance.lines.get(stream);
      if (!buffer) {
        buffer = new LineBuffer((line) => this.onLogLine(spec.name, line));
        instance.lines.set(stream, buffer);
      }
      return buffer;
    };
    // Anything that bypassed the worker's patched streams still lands in the function's log, never on ours.
    worker.stdout.on('data', (chunk: Buffer) => lines('raw-stdout').push(chunk.toString('utf8')));
    worker.stderr.on('data', (chunk: Buffer) => lines('raw-stderr').push(chunk.toString('utf8')));
    worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'output') lines(message.stream).push(message.text);
      else this.onMessage(instance, message);
    });
    worker.on('error', (error: Error & { code?: string }) => {
      if (error.code === 'ERR_WORKER_OUT_OF_MEMORY') {
        instance.exitReason = 'Error: Runtime exited with error: signal: killed';
      }
    });
    worker.on('exit', (code) => {
      for (const buffer of instance.lines.values()) buffer.end();
      this.onExit(instance, code);
      exited();
    });
    instance.timer = setTimeout(() => this.timedOut(instance), INIT_GRACE_MS + spec.timeoutSeconds * 1000);
    return instance;
  }

  private environmentOf(spec: LambdaFunctionSpec, taskRoot: string): Record<string, string> {
    const region = spec.environment.AWS_REGION ?? spec.environment.AWS_DEFAULT_REGION ?? LOCAL_REGION;
    return {
      // Lambda's unreserved defaults, which a function's configuration may override.
      LANG: 'en_US.UTF-8',
      PATH: '/usr/local/bin:/usr/bin/:/bin:/opt/bin',
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
      ...spec.environment,
      // Reserved: Lambda sets them whatever the configuration says. TZ is only informative here: a worker
      // cannot change the process's time zone.
      _HANDLER: HANDLER_STRING,
      AWS_EXECUTION_ENV: RUNTIME_ID,
      AWS_LAMBDA_FUNCTION_NAME: spec.logicalId,
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(spec.memoryMb),
      // Powertools reports cold_start only for on-demand environments.
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${spec.logicalId}`,
      AWS_LAMBDA_LOG_STREAM_NAME: logStreamName(),
      LAMBDA_TASK_ROOT: taskRoot,
      LAMBDA_RUNTIME_DIR: '/var/runtime',
      TZ: ':UTC',
    };
  }

  /** Gives an invocation to an environment; a cold one takes it once its init is done. */
  private run(instance: Instance, invocation: Invocation): void {
    instance.current = invocation;
    instance.worker.ref();
    if (instance.state === 'idle') this.send(instance);
    else instance.state = 'busy';
  }

  private send(instance: Instance): void {
    const invocation = instance.current!;
    instance.state = 'busy';
    const { spec } = instance.fn;
    const deadlineMs = Date.now() + spec.timeoutSeconds * 1000;
    clearTimeout(instance.timer);
    instance.timer = setTimeout(() => this.timedOut(instance), spec.timeoutSeconds * 1000);
    instance.worker.postMessage({
      type: 'invoke',
      requestId: invocation.requestId,
      payload: invocation.payload,
      deadlineMs,
      invokedFunctionArn: functionArn(spec.logicalId),
      traceId: traceHeader(),
    });
  }

  private onMessage(instance: Instance, message: Exclude<WorkerMessage, { type: 'output' }>): void {
    if (instance.ending) return;
    switch (message.type) {
      case 'ready':
        clearTimeout(instance.timer);
        if (instance.current) this.send(instance);
        else this.release(instance);
        return;
      case 'init-error':
        // The environment is discarded; the next invocation tries the init again, as Lambda does.
        this.settle(instance, new LambdaInvocationError(message.error));
        this.retire(instance);
        this.pump();
        return;
      case 'result':
        if (message.requestId !== instance.current?.requestId) return;
        if (Buffer.byteLength(message.body) > MAX_RESPONSE_BYTES) {
          this.settle(
            instance,
            new LambdaInvocationError({
              errorType: 'Function.ResponseSizeTooLarge',
              errorMessage: `Response payload size exceeded maximum allowed payload size (${MAX_RESPONSE_BYTES} bytes).`,
            }),
          );
        } else {
          this.settle(instance, undefined, JSON.parse(message.body));
        }
        this.release(instance);
        return;
      case 'error':
        if (message.requestId !== instance.current?.requestId) return;
        this.settle(instance, new LambdaInvocationError(message.error));
        if (message.fatal) {
          this.retire(instance);
          this.pump();
        } else {
          this.release(instance);
        }
        return;
    }
  }

  /** Lambda stops an invocation at the function's timeout, and with it the environment. */
  private timedOut(instance: Instance): void {
    if (instance.ending) return;
    const requestId = instance.current?.requestId ?? randomUUID();
    const seconds = instance.fn.spec.timeoutSeconds.toFixed(2);
    this.settle(
      instance,
      new LambdaInvocationError({
        errorType: 'Sandbox.Timedout',
        errorMessage: `RequestId: ${requestId} Error: Task timed out after ${seconds} seconds`,
      }),
    );
    this.retire(instance);
    this.pump();
  }

  private onExit(instance: Instance, code: number): void {
    clearTimeout(instance.timer);
    const wasEnding = instance.ending;
    instance.ending = true;
    instance.state = 'gone';
    if (!wasEnding && instance.current) {
      this.settle(
        instance,
        new LambdaInvocationError(exitMessage(instance.current.requestId, code, instance.exitReason)),
      );
    }
    this.forget(instance);
    this.pump();
  }

  /** Resolves or rejects the environment's current invocation, once. */
  private settle(instance: Instance, error: Error | undefined, result?: unknown): void {
    const invocation = instance.current;
    if (!invocation) return;
    instance.current = undefined;
    clearTimeout(instance.timer);
    if (error) invocation.reject(error);
    else invocation.resolve(result);
  }

  /** An environment done with its invocation: reused, or retired when its configuration is outdated. */
  private release(instance: Instance): void {
    if (instance.ending) return;
    if (this.closed || instance.generation !== instance.fn.generation) {
      this.retire(instance);
      this.pump();
      return;
    }
    instance.state = 'idle';
    instance.idleSince = Date.now();
    // An idle environment must not keep the parent process alive.
    instance.worker.unref();
    instance.fn.idle.push(instance);
    this.pump();
  }

  private retire(instance: Instance): void {
    if (instance.ending) return;
    instance.ending = true;
    clearTimeout(instance.timer);
    this.forget(instance);
    void instance.worker.terminate();
  }

  private forget(instance: Instance): void {
    const { fn } = instance;
    fn.instances.delete(instance);
    const idleAt = fn.idle.indexOf(instance);
    if (idleAt >= 0) fn.idle.splice(idleAt, 1);
  }
}
