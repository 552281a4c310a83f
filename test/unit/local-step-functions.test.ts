// The local Step Functions service: naming rules of StartExecution, scaled Waits, Retry/Catch by error
// name, and the JSON API the real SFNClient talks to.
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { matchesEventPattern } from '../../local/runner/event-pattern.ts';
import { startSfnEndpoint } from '../../local/runner/sfn-endpoint.ts';
import { ExecutionAlreadyExistsError, LocalStepFunctions } from '../../local/runner/step-functions.ts';

const definition: StateMachineDefinition = {
  StartAt: 'Check',
  States: {
    Check: {
      Type: 'Task',
      Resource: 'arn:aws:lambda:us-east-1:000000000000:function:Check',
      Parameters: { 'executionName.$': '$$.Execution.Name', 'state.$': '$' },
      ResultPath: '$.check',
      TimeoutSeconds: 5,
      Retry: [{ ErrorEquals: ['AEP_UNAVAILABLE'], IntervalSeconds: 20, MaxAttempts: 2, BackoffRate: 2 }],
      Catch: [{ ErrorEquals: ['AEP_RUN_FAILED'], ResultPath: '$.error', Next: 'Failed' }],
      Next: 'Done?',
    },
    'Done?': {
      Type: 'Choice',
      Choices: [{ Variable: '$.check.status', StringEquals: 'SUCCESS', Next: 'Succeeded' }],
      Default: 'WaitForIt',
    },
    WaitForIt: { Type: 'Wait', SecondsPath: '$.check.poll.waitSeconds', Next: 'Check' },
    Succeeded: { Type: 'Succeed' },
    Failed: { Type: 'Fail', ErrorPath: '$.error.Error', CausePath: '$.error.Cause' },
  },
};

type Script = (attempt: number, payload: { executionName: string }) => unknown;

function service(script: Script, timeScale = 1000) {
  const calls: { executionName: string }[] = [];
  const sfn = new LocalStepFunctions({
    definition,
    stateMachineName: 'Test',
    timeScale,
    invokeTask: async (_state, payload) => {
      const p = payload as { executionName: string };
      calls.push(p);
      return script(calls.length, p);
    },
  });
  return { sfn, calls };
}

function fail(name: string, message: string): never {
  const error = new Error(message);
  error.name = name;
  throw error;
}

describe('LocalStepFunctions', () => {
  it('polls through the Wait state, scaled, and passes the execution name to tasks', async () => {
    const { sfn, calls } = service((n) =>
      n < 3 ? { status: 'PROCESSING', poll: { attempt: n, waitSeconds: 15 * n } } : { status: 'SUCCESS' },
    );
    const { execution } = sfn.start('file-1', JSON.stringify({ file: 'a.csv' }));
    await execution.done;

    expect(execution.status).toBe('SUCCEEDED');
    expect(calls).toHaveLength(3);
    expect(calls[0]!.executionName).toBe('file-1');
    // The Waits AWS would do (15 s, then 30 s, from the task's poll), each scaled by 1000.
    const waits = execution.history.filter((e) => e.type === 'LocalWaitScaled');
    expect(waits.map((w) => [w.stateName, w.waitSeconds, w.waitMs])).toEqual([
      ['WaitForIt', 15, 15],
      ['WaitForIt', 30, 30],
    ]);
  });

  it('retries by error name, then leaves an outage uncaught', async () => {
    const { sfn, calls } = service(() => fail('AEP_UNAVAILABLE', 'AEP answered 503'));
    const { execution } = sfn.start('outage', '{}');
    await execution.done;

    expect(calls).toHaveLength(3);
    expect(execution.status).toBe('FAILED');
    expect(execution.error).toBe('AEP_UNAVAILABLE');
    expect(execution.history.filter((e) => e.type === 'StateRetried')).toHaveLength(2);
  });

  it('catches a terminal error into the Fail state with its name and message', async () => {
    const { sfn } = service(() => fail('AEP_RUN_FAILED', 'run failed at PROFILE_STORE_INGEST'));
    const { execution } = sfn.start('bad-run', '{}');
    await execution.done;

    expect(execution.status).toBe('FAILED');
    expect(execution.error).toBe('AEP_RUN_FAILED');
    expect(execution.cause).toContain('PROFILE_STORE_INGEST');
  });

  it('applies AWS naming rules: same name and input while running → the running one; else ExecutionAlreadyExists', async () => {
    const { sfn } = service(async () => {
      await new Promise((r) => setTimeout(r, 30));
      return { status: 'SUCCESS' };
    });
    const first = sfn.start('dup', '{"a":1}');
    const again = sfn.start('dup', '{"a":1}');
    expect(again.existing).toBe(true);
    expect(again.execution).toBe(first.execution);
    expect(() => sfn.start('dup', '{"a":2}')).toThrow(ExecutionAlreadyExistsError);
    await first.execution.done;
    expect(() => sfn.start('dup', '{"a":1}')).toThrow(ExecutionAlreadyExistsError);
  });
});

describe('the local Step Functions endpoint', () => {
  const { sfn } = service(() => ({ status: 'SUCCESS' }));
  let endpoint: Awaited<ReturnType<typeof startSfnEndpoint>>;
  let client: SFNClient;

  beforeAll(async () => {
    endpoint = await startSfnEndpoint(sfn);
    client = new SFNClient({
      endpoint: endpoint.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    });
  });
  afterAll(async () => {
    client.destroy();
    await endpoint.close();
  });

  it('serves StartExecution and DescribeExecution to the real SDK client, with ExecutionAlreadyExists', async () => {
    const started = await client.send(
      new StartExecutionCommand({ stateMachineArn: sfn.stateMachineArn, name: 'via-sdk', input: '{}' }),
    );
    expect(started.executionArn).toBe(sfn.executionArn('via-sdk'));
    await sfn.get('via-sdk')!.done;
    const described = await client.send(new DescribeExecutionCommand({ executionArn: started.executionArn }));
    expect(described.status).toBe('SUCCEEDED');
    expect(described.startDate).toBeInstanceOf(Date);
    await expect(
      client.send(
        new StartExecutionCommand({
          stateMachineArn: sfn.stateMachineArn,
          name: 'via-sdk',
          input: '{"x":1}',
        }),
      ),
    ).rejects.toMatchObject({ name: 'ExecutionAlreadyExists' });
  });
});

describe('matchesEventPattern', () => {
  const pattern = {
    source: ['aws.s3'],
    'detail-type': ['Object Created'],
    detail: { bucket: { name: ['drop'] }, object: { key: [{ prefix: 'incoming/' }] } },
  };
  const event = (bucket: string, key: string) => ({
    source: 'aws.s3',
    'detail-type': 'Object Created',
    detail: { bucket: { name: bucket }, object: { key } },
  });

  it('matches prefix and exact values, and rejects the rest', () => {
    expect(matchesEventPattern(pattern, event('drop', 'incoming/a.csv'))).toBe(true);
    expect(matchesEventPattern(pattern, event('drop', 'staging/a.csv'))).toBe(false);
    expect(matchesEventPattern(pattern, event('other', 'incoming/a.csv'))).toBe(false);
  });
});
