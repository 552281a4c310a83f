// The handlers' middy middlewares, each called on its own through a chain with a fake Lambda context (middy's
// advice for testing middlewares), then the whole Task chain taskHandler builds.
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { AepAuthError, AepUnavailableError } from '../../functions/shared/aep/errors.ts';
import { createLogger, setDefaultLogSink } from '../../functions/shared/log.ts';
import { METRIC } from '../../functions/shared/metric-names.ts';
import { PipelineMetrics } from '../../functions/shared/metrics.ts';
import { correlate } from '../../functions/shared/middleware/correlation.ts';
import { parseEvent } from '../../functions/shared/middleware/parse-event.ts';
import { pipelineErrors } from '../../functions/shared/middleware/pipeline-errors.ts';
import { stageTiming } from '../../functions/shared/middleware/stage-timing.ts';
import { PipelineError } from '../../functions/shared/pipeline-errors.ts';
import { taskHandler } from '../../functions/shared/task-handler.ts';
import { taskEvent } from './support/aep-tasks.ts';

type Line = Record<string, unknown>;
/** A handler called with whatever arrives, as Lambda calls it. */
type RawHandler = (event: unknown, context: Context) => Promise<unknown>;

function lambdaContext(awsRequestId: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'AepAudiencePipeline-CheckAudience',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:AepAudiencePipeline-CheckAudience',
    memoryLimitInMB: '256',
    awsRequestId,
    logGroupName: '/aws/lambda/AepAudiencePipeline-CheckAudience',
    logStreamName: '2026/01/01/[$LATEST]0123',
    getRemainingTimeInMillis: () => 60_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** A logger whose lines land in `lines`, parsed. */
function capturingLogger(lines: Line[]) {
  return createLogger({
    service: 'test',
    level: 'INFO',
    sink: (line) => lines.push(JSON.parse(line) as Line),
  });
}

/** Lines written through the default sink (EMF blobs, loggers without a sink of their own). */
let defaultLines: Line[] = [];
beforeEach(() => {
  defaultLines = [];
  setDefaultLogSink((line) => defaultLines.push(JSON.parse(line) as Line));
});
afterEach(() => {
  setDefaultLogSink((line) => process.stdout.write(`${line}\n`));
});

const emfBlobs = () => defaultLines.filter((l) => '_aws' in l);

describe('parseEvent', () => {
  const schema = z.object({ executionName: z.string().min(1), size: z.number().default(0) });

  it("hands the schema's output to the handler", async () => {
    const seen: unknown[] = [];
    const handler = middy()
      .use(parseEvent(schema, 'Task input'))
      .handler(async (event) => {
        seen.push(event);
        return 'ok';
      }) as unknown as RawHandler;
    await handler({ executionName: 'exec-1', extra: 'dropped' }, lambdaContext('r-1'));
    expect(seen).toEqual([{ executionName: 'exec-1', size: 0 }]);
  });

  it('fails a malformed event with CONFIG_INVALID naming the path, not the value, before the handler', async () => {
    let called = false;
    const handler = middy()
      .use(parseEvent(schema, 'Task input'))
      .handler(async () => {
        called = true;
      }) as unknown as RawHandler;
    const error = await handler(
      { executionName: 'exec-1', size: 'hunter2-secret' },
      lambdaContext('r-1'),
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PipelineError);
    expect(error).toMatchObject({
      name: 'CONFIG_INVALID',
      message: expect.stringMatching(/^Task input is malformed at size: /),
    });
    expect((error as Error).message).not.toContain('hunter2');
    expect(called).toBe(false);
  });
});

describe('pipelineErrors', () => {
  function failingWith(error: unknown, lines: Line[], metrics = new PipelineMetrics('test', 'Test')) {
    return middy()
      .use(logMetrics(metrics))
      .use(pipelineErrors({ logger: capturingLogger(lines), metrics }))
      .handler(async () => {
        throw error;
      });
  }
  const faultCounts = () =>
    emfBlobs()
      .filter((blob) => METRIC.taskFaults in blob)
      .map((blob) => [blob.service, blob[METRIC.taskFaults]]);

  it("turns the AEP client's errors into the pipeline codes and logs the failure once", async () => {
    const lines: Line[] = [];
    const unavailable = new AepUnavailableError('AEP GET /ais/external-audience/{id} answered 503');
    await expect(failingWith(unavailable, lines)({}, lambdaContext('r-1'))).rejects.toMatchObject({
      name: 'AEP_UNAVAILABLE',
      cause: unavailable,
    });
    await expect(
      failingWith(new AepAuthError('IMS refused the credentials'), lines)({}, lambdaContext('r-2')),
    ).rejects.toMatchObject({ name: 'AEP_AUTH_FAILED' });
    expect(lines.map((l) => [l.message, l.error, l.fault])).toEqual([
      ['task failed', 'AEP_UNAVAILABLE', false],
      ['task failed', 'AEP_AUTH_FAILED', false],
    ]);
    // Errors with a pipeline code are reports, not faults: no TaskFaults.
    expect(faultCounts()).toEqual([]);
  });

  it('counts one TaskFaults for an error that maps to no pipeline code, and logs it as a fault', async () => {
    const lines: Line[] = [];
    const metrics = new PipelineMetrics('check-audience', 'Test');
    const bug = new TypeError("Cannot read properties of undefined (reading 'id')");
    await expect(failingWith(bug, lines, metrics)({}, lambdaContext('r-1'))).rejects.toBe(bug);
    const denied = Object.assign(new Error('User is not authorized to perform: s3:PutObject'), {
      name: 'AccessDenied',
    });
    await expect(failingWith(denied, lines, metrics)({}, lambdaContext('r-2'))).rejects.toBe(denied);

    expect(faultCounts()).toEqual([
      ['check-audience', 1],
      ['check-audience', 1],
    ]);
    expect(lines.map((l) => [l.error, l.fault])).toEqual([
      ['TypeError', true],
      ['AccessDenied', true],
    ]);
  });

  it.each([
    ['AEP_BUSY', new PipelineError('AEP_BUSY', 'a run is in progress')],
    ['AEP_UNAVAILABLE', new AepUnavailableError('AEP answered 503')],
    ['VALIDATION_FAILED', new PipelineError('VALIDATION_FAILED', '2 of 3 rows are invalid')],
  ])('counts no TaskFaults for %s', async (code, error) => {
    await expect(failingWith(error, [])({}, lambdaContext('r-1'))).rejects.toMatchObject({ name: code });
    expect(faultCounts()).toEqual([]);
  });

  it('lets a pipeline error through as it is, and stays silent on success', async () => {
    const lines: Line[] = [];
    const busy = new PipelineError('AEP_BUSY', 'a run is in progress');
    await expect(failingWith(busy, lines)({}, lambdaContext('r-1'))).rejects.toBe(busy);
    const fine = middy()
      .use(pipelineErrors({ logger: capturingLogger(lines), metrics: new PipelineMetrics('test', 'Test') }))
      .handler(async () => 'done');
    expect(await fine({}, lambdaContext('r-2'))).toBe('done');
    expect(lines).toHaveLength(1);
  });
});

describe('correlate', () => {
  it("puts the invocation's id on every line and blob, and Powertools' resetKeys takes it off after", async () => {
    const lines: Line[] = [];
    const logger = capturingLogger(lines);
    const metrics = new PipelineMetrics('test', 'Test');
    const handler = middy<{ name: string }>()
      .use(injectLambdaContext(logger.powertools, { resetKeys: true }))
      .use(correlate({ logger, metrics }, (event: { name: string }) => event.name))
      .use(logMetrics(metrics))
      .handler(async () => {
        logger.info('working');
        logger.child({ step: 'inner' }).info('still working');
        metrics.count(METRIC.rows, 1);
      });
    await handler({ name: 'exec-1' }, lambdaContext('r-1'));
    await handler({ name: 'exec-2' }, lambdaContext('r-2'));
    logger.info('between invocations');

    expect(lines.map((l) => [l.message, l.correlationId, l.function_request_id])).toEqual([
      ['working', 'exec-1', 'r-1'],
      ['still working', 'exec-1', 'r-1'],
      ['working', 'exec-2', 'r-2'],
      ['still working', 'exec-2', 'r-2'],
      ['between invocations', undefined, 'r-2'],
    ]);
    expect(emfBlobs().map((b) => b.correlationId)).toEqual(['exec-1', 'exec-2']);
  });
});

describe('stageTiming', () => {
  function timed(lines: Line[], metrics: PipelineMetrics, body: () => Promise<unknown>) {
    let clock = 1_000;
    return middy<{ key: string }>()
      .use(logMetrics(metrics))
      .use(
        stageTiming({
          logger: capturingLogger(lines),
          metrics,
          describe: (event: { key: string }) => ({ key: event.key }),
          now: () => {
            clock += 250;
            return clock;
          },
        }),
      )
      .handler(body);
  }

  it('logs the start and the end with its duration, and records StageDuration', async () => {
    const lines: Line[] = [];
    await timed(
      lines,
      new PipelineMetrics('test', 'Test'),
      async () => 'ok',
    )({ key: 'incoming/a.csv' }, lambdaContext('r-1'));
    expect(lines.map((l) => [l.message, l.key, l.durationMs])).toEqual([
      ['task started', 'incoming/a.csv', undefined],
      ['task finished', undefined, 250],
    ]);
    expect(emfBlobs()).toEqual([expect.objectContaining({ StageDuration: 250, service: 'test' })]);
  });

  it('records StageDuration for a failed task too, without a "finished" line', async () => {
    const lines: Line[] = [];
    const failing = timed(lines, new PipelineMetrics('test', 'Test'), async () => {
      throw new Error('boom');
    });
    await expect(failing({ key: 'incoming/a.csv' }, lambdaContext('r-1'))).rejects.toThrow('boom');
    expect(lines.map((l) => l.message)).toEqual(['task started']);
    expect(emfBlobs()).toEqual([expect.objectContaining({ StageDuration: 250 })]);
  });
});

describe('taskHandler', () => {
  it('runs the chain: context keys, correlation id, cold start once, mapped errors, metrics per route', async () => {
    const saved = process.env.AWS_LAMBDA_INITIALIZATION_TYPE;
    // Powertools reports a cold start only for on-demand environments, as Lambda sets this variable.
    process.env.AWS_LAMBDA_INITIALIZATION_TYPE = 'on-demand';
    const savedLevel = process.env.LOG_LEVEL;
    process.env.LOG_LEVEL = 'INFO';
    let handler: ReturnType<typeof taskHandler<string>>;
    try {
      handler = taskHandler('check-audience', async (event, context) => {
        context.logger.info('polling', { execution: context.executionName });
        for (let attempt = 0; attempt < 150; attempt += 1) {
          context.metrics.aepCall({
            method: 'GET',
            route: '/ais/external-audience/{id}',
            status: 200,
            attempt: attempt % 3 === 2 ? 2 : 1,
            durationMs: attempt,
          });
        }
        if (event.executionName === 'exec-fails') throw new AepUnavailableError('AEP answered 503');
        return 'READY';
      });
    } finally {
      if (saved === undefined) delete process.env.AWS_LAMBDA_INITIALIZATION_TYPE;
      else process.env.AWS_LAMBDA_INITIALIZATION_TYPE = saved;
      if (savedLevel === undefined) delete process.env.LOG_LEVEL;
      else process.env.LOG_LEVEL = savedLevel;
    }
    const invoke = handler as unknown as RawHandler;

    expect(await invoke(taskEvent({ name: 'x', execution: 'exec-ok' }), lambdaContext('r-1'))).toBe('READY');
    await expect(
      invoke(taskEvent({ name: 'x', execution: 'exec-fails' }), lambdaContext('r-2')),
    ).rejects.toMatchObject({ name: 'AEP_UNAVAILABLE' });
    await expect(invoke({ not: 'a task event' }, lambdaContext('r-3'))).rejects.toMatchObject({
      name: 'CONFIG_INVALID',
    });

    const logLines = defaultLines.filter((l) => !('_aws' in l));
    expect(logLines.map((l) => [l.message, l.correlationId, l.function_request_id, l.cold_start])).toEqual([
      ['task started', 'exec-ok', 'r-1', true],
      ['polling', 'exec-ok', 'r-1', true],
      ['task finished', 'exec-ok', 'r-1', true],
      ['task started', 'exec-fails', 'r-2', false],
      ['polling', 'exec-fails', 'r-2', false],
      ['task failed', 'exec-fails', 'r-2', false],
      // Malformed: no execution name to correlate by, and the previous invocation's is gone.
      ['task failed', undefined, 'r-3', false],
    ]);
    expect(logLines.at(-2)).toMatchObject({ error: 'AEP_UNAVAILABLE' });

    for (const execution of ['exec-ok', 'exec-fails']) {
      const blobs = emfBlobs().filter((b) => b.correlationId === execution);
      const routeBlobs = blobs.filter((b) => METRIC.aepCallLatency in b);
      // 150 latencies: Powertools publishes the first 100 by itself, the flush the rest.
      expect(routeBlobs).toHaveLength(2);
      for (const blob of routeBlobs) {
        expect(blob).toMatchObject({ service: 'check-audience', route: 'GET /ais/external-audience/{id}' });
      }
      const sum = (name: string) => routeBlobs.reduce((total, b) => total + Number(b[name] ?? 0), 0);
      expect(sum(METRIC.aepCalls)).toBe(150);
      expect(sum(METRIC.aepRetries)).toBe(50);
      expect(blobs.filter((b) => METRIC.stageDuration in b)).toEqual([
        expect.not.objectContaining({ route: expect.anything() }),
      ]);
    }
    expect(emfBlobs().every((b) => typeof b.correlationId === 'string')).toBe(true);
  });

  it("publishes TaskFaults=1 with the invocation's other metrics for a fault, none for a coded error", async () => {
    const handler = taskHandler('start-ingestion', async (event) => {
      if (event.executionName === 'exec-bug') {
        const audience = undefined as unknown as { id: string };
        return audience.id;
      }
      throw new PipelineError('AEP_BUSY', 'a run is in progress');
    }) as unknown as RawHandler;

    await expect(
      handler(taskEvent({ name: 'x', execution: 'exec-bug' }), lambdaContext('r-1')),
    ).rejects.toBeInstanceOf(TypeError);
    await expect(
      handler(taskEvent({ name: 'x', execution: 'exec-busy' }), lambdaContext('r-2')),
    ).rejects.toMatchObject({ name: 'AEP_BUSY' });

    const blobOf = (execution: string) => emfBlobs().filter((b) => b.correlationId === execution);
    expect(blobOf('exec-bug')).toEqual([
      expect.objectContaining({ service: 'start-ingestion', [METRIC.taskFaults]: 1 }),
    ]);
    expect(blobOf('exec-bug')[0]).toHaveProperty(METRIC.stageDuration);
    expect(blobOf('exec-busy')).toHaveLength(1);
    expect(blobOf('exec-busy')[0]).not.toHaveProperty(METRIC.taskFaults);
  });
});
