// The Lambda pool runs functions as Lambda does: an environment per worker, one invocation at a time, Lambda's
// variables and context, its error shapes, and the real synthesized bundles.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildBundles, type CloudAssemblyBundles } from '../../local/runner/bundles.ts';
import {
  type LambdaFunctionSpec,
  LambdaInvocationError,
  LambdaPool,
  type LambdaPoolOptions,
} from '../../local/runner/lambda-pool.ts';
import { readSynthesizedPipeline } from '../../local/runner/synthesized.ts';
import { PROJECT_ROOT } from '../../local/runner/template.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function fixture(
  name: string,
  overrides: Partial<LambdaFunctionSpec> & { file?: string } = {},
): LambdaFunctionSpec {
  const { file, ...rest } = overrides;
  return {
    name,
    logicalId: `${name.replaceAll('-', '')}Function`,
    handlerFile: `test/fixtures/lambda/${file ?? name}.ts`,
    environment: {},
    timeoutSeconds: 10,
    memoryMb: 128,
    ...rest,
  };
}

const pools: LambdaPool[] = [];
const logs: { fn: string; line: string }[] = [];

function sourcePool(functions: LambdaFunctionSpec[], options: Partial<LambdaPoolOptions> = {}): LambdaPool {
  const pool = new LambdaPool({
    code: 'source',
    functions,
    onLogLine: (fn, line) => logs.push({ fn, line }),
    ...options,
  });
  pools.push(pool);
  return pool;
}

/** The error a rejected invocation carries. */
async function failure(invocation: Promise<unknown>): Promise<LambdaInvocationError> {
  const error = await invocation.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(LambdaInvocationError);
  return error as LambdaInvocationError;
}

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
  logs.length = 0;
});

describe('LambdaPool (source mode)', () => {
  it("gives each function exactly its own variables and Lambda's, nothing from the parent", async () => {
    process.env.PARENT_ONLY_CANARY = 'must not leak';
    try {
      const pool = sourcePool([
        fixture('environment', { environment: { ONLY_MINE: 'one' }, timeoutSeconds: 30, memoryMb: 256 }),
        fixture('other', {
          file: 'environment',
          logicalId: 'OtherFunction',
          environment: { ONLY_THEIRS: '2' },
        }),
      ]);
      type Answer = { env: Record<string, string>; context: Record<string, unknown> };
      const [mine, theirs] = (await Promise.all([
        pool.invoke('environment', {}),
        pool.invoke('other', {}),
      ])) as [Answer, Answer];

      const runtime = [
        '_HANDLER',
        '_X_AMZN_TRACE_ID',
        'AWS_DEFAULT_REGION',
        'AWS_EXECUTION_ENV',
        'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
        'AWS_LAMBDA_FUNCTION_NAME',
        'AWS_LAMBDA_FUNCTION_VERSION',
        'AWS_LAMBDA_INITIALIZATION_TYPE',
        'AWS_LAMBDA_LOG_GROUP_NAME',
        'AWS_LAMBDA_LOG_STREAM_NAME',
        'AWS_REGION',
        'LAMBDA_RUNTIME_DIR',
        'LAMBDA_TASK_ROOT',
        'LANG',
        'PATH',
        'TZ',
      ];
      expect(Object.keys(mine.env).sort()).toEqual([...runtime, 'ONLY_MINE'].sort());
      expect(Object.keys(theirs.env).sort()).toEqual([...runtime, 'ONLY_THEIRS'].sort());
      expect(mine.env).toMatchObject({
        ONLY_MINE: 'one',
        _HANDLER: 'index.handler',
        AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
        AWS_LAMBDA_FUNCTION_NAME: 'environmentFunction',
        AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256',
        AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
        AWS_LAMBDA_LOG_GROUP_NAME: '/aws/lambda/environmentFunction',
        AWS_REGION: 'us-east-1',
        AWS_DEFAULT_REGION: 'us-east-1',
        LAMBDA_TASK_ROOT: path.join(PROJECT_ROOT, 'test/fixtures/lambda'),
        TZ: ':UTC',
      });
      expect(mine.env.AWS_LAMBDA_LOG_STREAM_NAME).toMatch(/^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\][0-9a-f]{32}$/);
      expect(mine.env._X_AMZN_TRACE_ID).toMatch(
        /^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=1$/,
      );

      expect(mine.context).toMatchObject({
        functionName: 'environmentFunction',
        functionVersion: '$LATEST',
        invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:environmentFunction',
        memoryLimitInMB: '256',
        logGroupName: '/aws/lambda/environmentFunction',
        logStreamName: mine.env.AWS_LAMBDA_LOG_STREAM_NAME,
        callbackWaitsForEmptyEventLoop: true,
      });
      expect(mine.context.awsRequestId).toMatch(UUID);
      expect(mine.context.remainingMs).toBeGreaterThan(25_000);
      expect(mine.context.remainingMs).toBeLessThanOrEqual(30_000);
      expect(theirs.context.awsRequestId).not.toBe(mine.context.awsRequestId);
    } finally {
      delete process.env.PARENT_ONLY_CANARY;
    }
  });

  it('lets a function set AWS_REGION, but not the variables Lambda reserves', async () => {
    const pool = sourcePool([
      fixture('environment', {
        environment: { AWS_REGION: 'eu-west-1', AWS_LAMBDA_FUNCTION_NAME: 'spoofed', _HANDLER: 'x.y' },
      }),
    ]);
    const { env } = (await pool.invoke('environment', {})) as { env: Record<string, string> };
    expect(env).toMatchObject({
      AWS_REGION: 'eu-west-1',
      AWS_DEFAULT_REGION: 'eu-west-1',
      AWS_LAMBDA_FUNCTION_NAME: 'environmentFunction',
      _HANDLER: 'index.handler',
    });
  });

  it('runs concurrent invocations in separate environments and reuses a warm one after', async () => {
    const pool = sourcePool([fixture('module-state')]);
    type State = { instanceId: string; invocations: number };
    const [a, b] = (await Promise.all([
      pool.invoke('module-state', { waitMs: 300 }),
      pool.invoke('module-state', { waitMs: 300 }),
    ])) as [State, State];
    expect(a.instanceId).not.toBe(b.instanceId);
    expect([a.invocations, b.invocations]).toEqual([1, 1]);
    expect(pool.stats()['module-state']).toEqual({
      instances: 2,
      busy: 0,
      queued: 0,
      coldStarts: 2,
      invocations: 2,
    });

    const later = (await pool.invoke('module-state', {})) as State;
    expect([a.instanceId, b.instanceId]).toContain(later.instanceId);
    expect(later.invocations).toBe(2);
    expect(pool.stats()['module-state']).toMatchObject({ instances: 2, coldStarts: 2, invocations: 3 });
  });

  it('queues invocations beyond maxInstancesPerFunction for the busy environment', async () => {
    const pool = sourcePool([fixture('module-state')], { maxInstancesPerFunction: 1 });
    type State = { instanceId: string; invocations: number };
    const first = pool.invoke('module-state', { waitMs: 200 }) as Promise<State>;
    const second = pool.invoke('module-state', {}) as Promise<State>;
    expect(pool.stats()['module-state']).toMatchObject({ instances: 1, busy: 1, queued: 1 });
    const [a, b] = await Promise.all([first, second]);
    expect(b.instanceId).toBe(a.instanceId);
    expect(b.invocations).toBe(2);
    expect(pool.stats()['module-state']).toMatchObject({ coldStarts: 1, queued: 0 });
  });

  it('retires an idle environment of another function when the pool is at maxInstances', async () => {
    const pool = sourcePool([fixture('module-state'), fixture('environment')], { maxInstances: 1 });
    await pool.invoke('module-state', {});
    await pool.invoke('environment', {});
    const stats = pool.stats();
    expect(stats['module-state']).toMatchObject({ instances: 0, coldStarts: 1 });
    expect(stats.environment).toMatchObject({ instances: 1, coldStarts: 1 });
  });

  it("reports Powertools' cold_start on an environment's first invocation only", async () => {
    const pool = sourcePool([fixture('cold-start')]);
    await pool.invoke('cold-start', { via: 'base' });
    await pool.invoke('cold-start', { via: 'base' });
    pool.updateEnvironment('cold-start', { LOG_LEVEL: 'INFO' });
    await pool.invoke('cold-start', { via: 'base' });
    const lines = logs.map((l) => JSON.parse(l.line) as { cold_start: boolean; function_request_id: string });
    expect(lines.map((l) => l.cold_start)).toEqual([true, false, true]);
    expect(lines.every((l) => UUID.test(l.function_request_id))).toBe(true);
  });

  it("keeps cold_start false after the first invocation through the handlers' middleware chain", async () => {
    const pool = sourcePool([fixture('cold-start')]);
    await pool.invoke('cold-start', { via: 'middleware' });
    await pool.invoke('cold-start', { via: 'middleware' });
    const lines = logs.map((l) => JSON.parse(l.line) as { cold_start: boolean; correlationId?: string });
    expect(lines.map((l) => l.cold_start)).toEqual([true, false]);
    expect(lines.map((l) => l.correlationId)).toEqual(['exec-1', 'exec-1']);
  });

  it('carries payloads and results as JSON', async () => {
    const pool = sourcePool([fixture('behaviours')]);
    expect(await pool.invoke('behaviours', { kind: 'echo', at: new Date(0), gone: undefined })).toEqual({
      kind: 'echo',
      at: '1970-01-01T00:00:00.000Z',
    });
    expect(await pool.invoke('behaviours', { kind: 'json' })).toEqual({
      when: '1970-01-01T00:00:00.000Z',
      notANumber: null,
    });
    expect(await pool.invoke('behaviours', { kind: 'undefined' })).toBeNull();
  });

  it("refuses a result over the Invoke API's 6 MB as Lambda does", async () => {
    const pool = sourcePool([fixture('behaviours')]);
    const error = await failure(pool.invoke('behaviours', { kind: 'huge' }));
    expect(JSON.parse(error.message)).toEqual({
      errorType: 'Function.ResponseSizeTooLarge',
      errorMessage: 'Response payload size exceeded maximum allowed payload size (6291556 bytes).',
    });
    expect(await pool.invoke('behaviours', { kind: 'echo' })).toEqual({ kind: 'echo' });
  });

  it("rejects a thrown error with its name as errorType and Lambda's JSON as message, and stays warm", async () => {
    const pool = sourcePool([fixture('behaviours')]);
    const error = await failure(pool.invoke('behaviours', { kind: 'throw' }));
    expect(error.name).toBe('AEP_BUSY');
    expect(error.message).toBe('{"errorType":"AEP_BUSY","errorMessage":"AEP answered 429 three times"}');
    expect(error.trace[0]).toBe('AEP_BUSY: AEP answered 429 three times');

    const bare = await failure(pool.invoke('behaviours', { kind: 'throw-string' }));
    expect(JSON.parse(bare.message)).toEqual({ errorType: 'string', errorMessage: 'a bare string' });
    expect(pool.stats().behaviours).toMatchObject({ instances: 1, coldStarts: 1 });
  });

  it("times out at the function's Timeout, ending that environment", async () => {
    const pool = sourcePool([fixture('behaviours', { timeoutSeconds: 1 })]);
    const started = Date.now();
    const error = await failure(pool.invoke('behaviours', { kind: 'hang' }));
    const elapsed = Date.now() - started;
    expect(error.name).toBe('Sandbox.Timedout');
    expect(JSON.parse(error.message).errorMessage).toMatch(
      /^RequestId: [0-9a-f-]{36} Error: Task timed out after 1\.00 seconds$/,
    );
    expect(elapsed).toBeGreaterThanOrEqual(1000);
    expect(elapsed).toBeLessThan(5000);
    expect(pool.stats().behaviours).toMatchObject({ instances: 0 });
    expect(await pool.invoke('behaviours', { kind: 'echo' })).toEqual({ kind: 'echo' });
    expect(pool.stats().behaviours).toMatchObject({ coldStarts: 2 });
  });

  it('reports a crashed environment as the runtime does and replaces it', async () => {
    const pool = sourcePool([fixture('behaviours')]);
    const exited = await failure(pool.invoke('behaviours', { kind: 'exit' }));
    expect(exited.name).toBe('Runtime.ExitError');
    expect(JSON.parse(exited.message).errorMessage).toMatch(
      /^RequestId: [0-9a-f-]{36} Error: Runtime exited with error: exit status 3$/,
    );

    const uncaught = await failure(pool.invoke('behaviours', { kind: 'uncaught' }));
    expect(JSON.parse(uncaught.message)).toEqual({
      errorType: 'TypeError',
      errorMessage: 'thrown outside the handler',
    });

    const rejected = await failure(pool.invoke('behaviours', { kind: 'reject' }));
    expect(JSON.parse(rejected.message)).toEqual({
      errorType: 'Runtime.UnhandledPromiseRejection',
      errorMessage: 'Error: nobody awaited this',
    });

    expect(await pool.invoke('behaviours', { kind: 'echo' })).toEqual({ kind: 'echo' });
    expect(pool.stats().behaviours).toMatchObject({ instances: 1, coldStarts: 4 });
  });

  it("ends an environment that exceeds the function's memory as Runtime.OutOfMemory", async () => {
    const pool = sourcePool([fixture('behaviours', { memoryMb: 64 })]);
    const error = await failure(pool.invoke('behaviours', { kind: 'oom' }));
    expect(error.name).toBe('Runtime.OutOfMemory');
    expect(JSON.parse(error.message).errorMessage).toMatch(/Runtime exited with error: signal: killed$/);
  });

  it('fails an invocation whose init throws with that error, and tries the init again next time', async () => {
    const pool = sourcePool([fixture('init-error'), fixture('not-a-handler')]);
    const first = await failure(pool.invoke('init-error', {}));
    expect(first.name).toBe('CONFIG_INVALID');
    expect(JSON.parse(first.message).errorMessage).toMatch(
      /^Environment variable REQUIRED_SETTING \(.*\) is missing or invalid$/,
    );
    await failure(pool.invoke('init-error', {}));
    expect(pool.stats()['init-error']).toMatchObject({ instances: 0, coldStarts: 2 });

    pool.updateEnvironment('init-error', { REQUIRED_SETTING: 'now set' });
    expect(await pool.invoke('init-error', {})).toEqual({ setting: 'now set' });

    const missing = await failure(pool.invoke('not-a-handler', {}));
    expect(JSON.parse(missing.message)).toEqual({
      errorType: 'Runtime.HandlerNotFound',
      errorMessage: 'index.handler is undefined or not exported',
    });
  });

  it('reports a handler file that is not there as Runtime.ImportModuleError', async () => {
    const pool = sourcePool([fixture('nowhere')]);
    const error = await failure(pool.invoke('nowhere', {}));
    expect(error.name).toBe('Runtime.ImportModuleError');
    expect(JSON.parse(error.message).errorMessage).toBe("Error: Cannot find module 'nowhere'");
  });

  it('updates environments as UpdateFunctionConfiguration: new invocations go to new environments', async () => {
    const pool = sourcePool([
      fixture('module-state', { environment: { SETTING: 'old' } }),
      fixture('environment'),
    ]);
    type State = { instanceId: string; setting: string | null };
    const before = (await pool.invoke('module-state', {})) as State;
    expect(before.setting).toBe('old');

    // An invocation in flight finishes on the old settings; its environment then retires.
    const inFlight = pool.invoke('module-state', { waitMs: 300 }) as Promise<State>;
    pool.updateEnvironment('module-state', { SETTING: 'new' });
    const after = (await pool.invoke('module-state', {})) as State;
    expect((await inFlight).setting).toBe('old');
    expect(after.setting).toBe('new');
    expect(after.instanceId).not.toBe(before.instanceId);
    expect(pool.stats()['module-state']).toMatchObject({ instances: 1, coldStarts: 2 });

    pool.updateEnvironment('*', { SETTING: undefined, ADDED: 'everywhere' });
    expect(((await pool.invoke('module-state', {})) as State).setting).toBeNull();
    const { env } = (await pool.invoke('environment', {})) as { env: Record<string, string> };
    expect(env.ADDED).toBe('everywhere');
    expect(() => pool.updateEnvironment('unknown', {})).toThrow(/no function named unknown/);
  });

  it("hands each function's output to onLogLine as lines, before the invocation's result", async () => {
    const pool = sourcePool([fixture('behaviours'), fixture('environment')]);
    const stdout: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
      stdout.push(String(chunk));
      return write(chunk, ...rest);
    }) as typeof process.stdout.write;
    try {
      await pool.invoke('behaviours', { kind: 'log' });
      expect(logs).toEqual([
        {
          fn: 'behaviours',
          line: '{"level":"INFO","message":"from console.log","correlationId":"exec-log"}',
        },
        { fn: 'behaviours', line: 'partial line' },
        { fn: 'behaviours', line: 'to stderr' },
      ]);
      await pool.invoke('environment', {});
      await pool.close();
      // The unfinished last line comes when its environment ends.
      expect(logs.at(-1)).toEqual({ fn: 'behaviours', line: 'no newline at the end' });
    } finally {
      process.stdout.write = write;
    }
    expect(stdout.join('')).not.toMatch(/from console\.log|partial|no newline/);
  });

  it('refuses an unknown function as the Invoke API does, and work once closed', async () => {
    const pool = sourcePool([fixture('module-state')]);
    await expect(pool.invoke('missing', {})).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      message: 'Function not found: arn:aws:lambda:us-east-1:000000000000:function:missing',
    });
    const running = expect(pool.invoke('module-state', { waitMs: 5000 })).rejects.toThrow(
      'the Lambda pool is closed',
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    await pool.close();
    await running;
    await expect(pool.invoke('module-state', {})).rejects.toThrow('the Lambda pool is closed');
  });

  it('works under a parent that registered tsx in its main thread only, as bin/aep-audience.js does', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['test/fixtures/lambda/cli-parent.mjs'], {
      cwd: PROJECT_ROOT,
      env: { PATH: process.env.PATH ?? '' },
    });
    expect(JSON.parse(stdout)).toMatchObject({ invocations: 1, setting: 'from the CLI parent' });
  });
});

describe('LambdaPool (bundle mode, the synthesized bundles)', () => {
  let bundles: CloudAssemblyBundles;
  let pool: LambdaPool;
  const bundleLogs: { fn: string; line: string }[] = [];

  beforeAll(async () => {
    bundles = await buildBundles();
    const synthesized = readSynthesizedPipeline(bundles.template, {
      bucketName: 'aep-audience-local',
      tableName: 'aep-audience-registry',
      stateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:AepAudiencePipeline',
    });
    // Endpoints nothing listens on: a call to AWS would fail, so an answer proves none was made.
    const offline = 'http://127.0.0.1:9';
    const functions = Object.values(bundles.functions).map((bundle) => ({
      ...bundle,
      environment: {
        ...synthesized.functions[bundle.name]!.environment,
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
        AWS_ENDPOINT_URL: offline,
      },
    }));
    pool = new LambdaPool({
      code: 'bundle',
      functions,
      onLogLine: (fn, line) => bundleLogs.push({ fn, line }),
    });
  });

  afterAll(async () => {
    await pool?.close();
  });

  it('bundles the thirteen functions from the template, each an index.mjs in its asset folder', () => {
    expect(Object.keys(bundles.functions).sort()).toEqual([
      'activate-destinations',
      'archive-file',
      'check-audience',
      'check-ingestion',
      'create-audience',
      'delete-audience',
      'handle-failure',
      'keep-alive',
      'record-execution-failure',
      'start-ingestion',
      'start-pipeline',
      'validate-file',
      'validate-large-file',
    ]);
    for (const bundle of Object.values(bundles.functions)) {
      expect(bundle.bundleDir.startsWith(bundles.assemblyDir)).toBe(true);
      expect(bundle.bytes).toBeGreaterThan(100_000);
      expect(bundle.handlerFile).toBe(`functions/${bundle.name}/handler.ts`);
    }
    expect(bundles.functions['validate-file']).toMatchObject({ timeoutSeconds: 900, memoryMb: 1024 });
  });

  it('runs the real start-pipeline bundle: a key that is not a CSV is ignored without calling AWS', async () => {
    const result = await pool.invoke('start-pipeline', {
      version: '0',
      id: 'b6a2f1c2-0000-4000-8000-000000000001',
      'detail-type': 'Object Created',
      source: 'aws.s3',
      account: '000000000000',
      time: '2026-01-01T00:00:00Z',
      region: 'us-east-1',
      resources: ['arn:aws:s3:::aep-audience-local'],
      detail: {
        version: '0',
        bucket: { name: 'aep-audience-local' },
        object: { key: 'incoming/notes.txt', size: 12, etag: 'abc', sequencer: '0062E99A88DC407460' },
        reason: 'PutObject',
      },
    });
    expect(result).toEqual({ status: 'IGNORED', reason: 'not a .csv or .csv.gz file' });
    const line = bundleLogs.find((l) => l.fn === 'start-pipeline' && l.line.includes('"ignored"'));
    expect(JSON.parse(line!.line)).toMatchObject({
      message: 'ignored',
      correlationId: 'event-b6a2f1c2-0000-4000-8000-000000000001',
      function_name: 'TriggerStartPipelineFunction1784E356',
    });
  });

  it('initializes every other bundle: an invalid payload fails with the function’s own error', async () => {
    const others = Object.keys(bundles.functions).filter((name) => name !== 'start-pipeline');
    const errors = await Promise.all(
      others.map((name) => failure(pool.invoke(name, { not: 'a task event' }))),
    );
    const byFunction = Object.fromEntries(
      others.map((name, i) => [
        name,
        JSON.parse(errors[i]!.message) as { errorType: string; errorMessage: string },
      ]),
    );
    const upkeep = ['keep-alive', 'delete-audience'];
    for (const name of others.filter((n) => n !== 'record-execution-failure' && !upkeep.includes(n))) {
      expect(byFunction[name]!.errorType).toBe('CONFIG_INVALID');
      expect(byFunction[name]!.errorMessage).toMatch(/^Task input is malformed at /);
    }
    // The upkeep functions take their own inputs (the schedule's {}, the CLI's), not a task event.
    for (const name of upkeep) {
      expect(byFunction[name]!.errorType).toBe('CONFIG_INVALID');
      expect(byFunction[name]!.errorMessage).toMatch(new RegExp(`^${name} input is malformed`));
    }
    expect(byFunction['record-execution-failure']!.errorType).toBe('ZodError');
    for (const name of others) expect(pool.stats()[name]).toMatchObject({ instances: 1, coldStarts: 1 });
  });
});
