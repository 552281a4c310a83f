// Unit tests of the operator commands (executions, show, redrive) against mocked CloudFormation, Step Functions
// and S3: the stack found by its outputs, AWS-shaped histories read into stages, and the redrive decision.
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  DescribeExecutionCommand,
  type DescribeExecutionOutput,
  ExecutionDoesNotExist,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  RedriveExecutionCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../local/cli.ts';
import { OpsError } from '../../local/ops/aws.ts';
import { formatDuration, parseSince, parseStatus } from '../../local/ops/executions.ts';
import { runOpsCommand } from '../../local/ops/index.ts';
import { executionHistory } from '../../local/ops/read.ts';
import { MemoryBucket } from './support/memory-s3.ts';

const cfnMock = mockClient(CloudFormationClient);
const sfnMock = mockClient(SFNClient);
const bucket = new MemoryBucket();

const MACHINE = 'arn:aws:states:eu-west-1:111122223333:stateMachine:Pipeline';
const arnOf = (name: string) => `arn:aws:states:eu-west-1:111122223333:execution:Pipeline:${name}`;
const at = (seconds: number) => new Date(Date.UTC(2026, 10, 28, 12, 0, seconds));
const file = { bucket: 'drop-bucket', key: 'incoming/teamA/churn.csv', sequencer: '01', size: 40 };

// --- AWS-shaped history events, as GetExecutionHistory returns them for Lambda tasks invoked by ARN ---
type Spec = Omit<HistoryEvent, 'id' | 'timestamp'> & { t: number };
const started = (t: number): Spec => ({
  t,
  type: 'ExecutionStarted',
  executionStartedEventDetails: { input: JSON.stringify({ file }) },
});
const entered = (t: number, name: string, type = 'Task', document: object = { file }): Spec => ({
  t,
  type: `${type}StateEntered` as HistoryEvent['type'],
  stateEnteredEventDetails: { name, input: JSON.stringify(document) },
});
const exited = (t: number, name: string, type = 'Task', document: object = { file }): Spec => ({
  t,
  type: `${type}StateExited` as HistoryEvent['type'],
  stateExitedEventDetails: { name, output: JSON.stringify(document) },
});
const lambdaFailed = (t: number, error: string, message: string): Spec => ({
  t,
  type: 'LambdaFunctionFailed',
  lambdaFunctionFailedEventDetails: {
    error,
    cause: JSON.stringify({ errorType: error, errorMessage: message }),
  },
});
const executionFailed = (t: number, error: string, cause: string): Spec => ({
  t,
  type: 'ExecutionFailed',
  executionFailedEventDetails: { error, cause },
});
const history = (...specs: Spec[]): HistoryEvent[] =>
  specs.map(({ t, ...event }, i) => ({ ...event, id: i + 1, previousEventId: i, timestamp: at(t) }));

const audience = { status: 'READY', audienceId: 'aud-123', name: 'teamA/churn', refreshed: false };
const ingestion = { status: 'PROCESSING', runId: 'run-9' };

/** Four executions: one done, one the file failed, one an outage stopped at CheckIngestion, one redriven. */
const EXECUTIONS: Record<string, { description: DescribeExecutionOutput; events: HistoryEvent[] }> = {
  'churn-ok': {
    description: { status: 'SUCCEEDED', startDate: at(0), stopDate: at(42) } as DescribeExecutionOutput,
    events: history(
      started(0),
      entered(0, 'ValidateFile'),
      exited(2, 'ValidateFile'),
      entered(2, 'CreateAudience'),
      exited(3, 'CreateAudience', 'Task', { file, audience }),
      entered(41, 'ArchiveFile', 'Task', { file, audience, ingestion }),
      exited(42, 'ArchiveFile', 'Task', { file, audience, ingestion }),
      entered(42, 'Succeeded', 'Succeed', { file, audience, ingestion }),
      { t: 42, type: 'ExecutionSucceeded', executionSucceededEventDetails: { output: '{}' } },
    ),
  },
  'churn-bad': {
    description: {
      status: 'FAILED',
      startDate: at(0),
      stopDate: at(3),
      error: 'VALIDATION_FAILED',
      cause: 'row 1, column "email": "n***" is not an email address',
    } as DescribeExecutionOutput,
    events: history(
      started(0),
      entered(0, 'ValidateFile'),
      exited(1, 'ValidateFile'),
      entered(1, 'Rejected?', 'Choice'),
      exited(1, 'Rejected?', 'Choice'),
      entered(1, 'RejectFile', 'Pass'),
      exited(1, 'RejectFile', 'Pass'),
      entered(1, 'HandleFailure'),
      exited(2, 'HandleFailure'),
      entered(3, 'Failed', 'Fail'),
      executionFailed(3, 'VALIDATION_FAILED', 'row 1, column "email": "n***" is not an email address'),
    ),
  },
  'churn-down': {
    description: {
      status: 'FAILED',
      startDate: at(0),
      stopDate: at(125),
      error: 'AEP_UNAVAILABLE',
      cause: '{"errorType":"AEP_UNAVAILABLE","errorMessage":"AEP answered 503 to GET run"}',
    } as DescribeExecutionOutput,
    events: history(
      started(0),
      entered(0, 'ValidateFile'),
      exited(2, 'ValidateFile'),
      entered(2, 'CreateAudience'),
      exited(3, 'CreateAudience', 'Task', { file, audience }),
      entered(20, 'CheckIngestion', 'Task', { file, audience, ingestion }),
      lambdaFailed(21, 'AEP_UNAVAILABLE', 'AEP answered 503 to GET run'),
      lambdaFailed(60, 'AEP_UNAVAILABLE', 'AEP answered 503 to GET run'),
      executionFailed(
        125,
        'AEP_UNAVAILABLE',
        '{"errorType":"AEP_UNAVAILABLE","errorMessage":"AEP answered 503 to GET run"}',
      ),
    ),
  },
  'churn-again': {
    description: {
      status: 'SUCCEEDED',
      startDate: at(0),
      stopDate: at(300),
      redriveCount: 1,
    } as DescribeExecutionOutput,
    events: history(
      started(0),
      entered(0, 'CheckIngestion', 'Task', { file, audience, ingestion }),
      lambdaFailed(1, 'AEP_UNAVAILABLE', 'AEP answered 503'),
      executionFailed(2, 'AEP_UNAVAILABLE', 'AEP answered 503'),
      { t: 200, type: 'ExecutionRedriven', executionRedrivenEventDetails: { redriveCount: 1 } },
      entered(200, 'CheckIngestion', 'Task', { file, audience, ingestion }),
      exited(201, 'CheckIngestion', 'Task', {
        file,
        audience,
        ingestion: { ...ingestion, status: 'SUCCESS' },
      }),
      entered(300, 'Succeeded', 'Succeed', { file, audience, ingestion }),
      { t: 300, type: 'ExecutionSucceeded', executionSucceededEventDetails: { output: '{}' } },
    ),
  },
};

function capture() {
  const out = { stdout: '', stderr: '' };
  return {
    out,
    io: {
      stdout: (text: string) => {
        out.stdout += text;
      },
      stderr: (text: string) => {
        out.stderr += text;
      },
    },
  };
}

function named(error: Error, name: string): Error {
  error.name = name;
  return error;
}

/** The nextToken of each ListExecutions call, in order. */
const listTokens: (string | undefined)[] = [];

beforeEach(() => {
  cfnMock.reset();
  sfnMock.reset();
  bucket.reset();
  cfnMock.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: 'AepAudiencePipeline',
        CreationTime: at(0),
        StackStatus: 'CREATE_COMPLETE',
        Outputs: [
          { OutputKey: 'BucketName', OutputValue: 'drop-bucket' },
          { OutputKey: 'StateMachineArn', OutputValue: MACHINE },
        ],
      },
    ],
  });
  // Newest first, two pages, as Step Functions lists them.
  const names = Object.keys(EXECUTIONS);
  const listed = names.map((name, i) => ({
    executionArn: arnOf(name),
    stateMachineArn: MACHINE,
    name,
    status: EXECUTIONS[name]!.description.status,
    startDate: new Date(at(0).getTime() - i * 3_600_000),
  }));
  listTokens.length = 0;
  sfnMock.on(ListExecutionsCommand).callsFake((input) => {
    // The paginator reuses one input object for every page: the token is copied as each page is asked for.
    listTokens.push(input.nextToken);
    return input.nextToken
      ? { executions: listed.slice(2) }
      : { executions: listed.slice(0, 2), nextToken: 'page-2' };
  });
  sfnMock.on(DescribeExecutionCommand).callsFake(({ executionArn }) => {
    const name = String(executionArn).split(':').pop()!;
    const found = EXECUTIONS[name];
    if (!found)
      throw new ExecutionDoesNotExist({
        message: `Execution Does Not Exist: '${executionArn}'`,
        $metadata: {},
      });
    return {
      ...found.description,
      executionArn,
      name,
      stateMachineArn: MACHINE,
      input: JSON.stringify({ file }),
    };
  });
  sfnMock.on(GetExecutionHistoryCommand).callsFake(({ executionArn, reverseOrder }) => {
    const events = [...EXECUTIONS[String(executionArn).split(':').pop()!]!.events];
    return { events: reverseOrder ? events.reverse() : events };
  });
  sfnMock.on(RedriveExecutionCommand).resolves({ redriveDate: at(500) });
});

describe('aep-audience executions', () => {
  it('lists every page with file, status, stage reached, audience id and duration', async () => {
    const { out, io } = capture();
    const code = await runOpsCommand('executions', [], { json: true }, io);

    expect(code).toBe(0);
    expect(cfnMock.commandCalls(DescribeStacksCommand)[0]!.args[0].input).toEqual({
      StackName: 'AepAudiencePipeline',
    });
    const listed = JSON.parse(out.stdout);
    expect(listed.map((e: { execution: string }) => e.execution)).toEqual(Object.keys(EXECUTIONS));
    expect(listed[0]).toMatchObject({
      status: 'SUCCEEDED',
      file: { bucket: 'drop-bucket', key: 'incoming/teamA/churn.csv' },
      stage: 'Succeeded',
      audienceId: 'aud-123',
      durationMs: 42_000,
    });
    expect(listed[1]).toMatchObject({ status: 'FAILED', stage: 'ValidateFile', stop: { kind: 'FILE' } });
    expect(listed[2]).toMatchObject({
      stage: 'CheckIngestion',
      audienceId: 'aud-123',
      runId: 'run-9',
      stop: { kind: 'OUTAGE', state: 'CheckIngestion', code: 'AEP_UNAVAILABLE' },
    });
    expect(listed[3]).toMatchObject({ status: 'SUCCEEDED', redriveCount: 1 });
    // Both pages were read, the second with the token the first one answered.
    expect(listTokens).toEqual([undefined, 'page-2']);
  });

  it('reads no further page than --limit needs', async () => {
    const { out, io } = capture();
    expect(await runOpsCommand('executions', [], { json: true, limit: '2' }, io)).toBe(0);

    expect(JSON.parse(out.stdout)).toHaveLength(2);
    expect(listTokens).toEqual([undefined]);
    expect(sfnMock.commandCalls(ListExecutionsCommand)[0]!.args[0].input.maxResults).toBe(2);
  });

  it('prints a table, and passes --status to Step Functions and stops at --since', async () => {
    const { out, io } = capture();
    const code = await runOpsCommand(
      'executions',
      [],
      { status: 'failed', since: '2026-11-28T11:30:00Z' },
      io,
    );

    expect(code).toBe(0);
    expect(sfnMock.commandCalls(ListExecutionsCommand)[0]!.args[0].input).toMatchObject({
      stateMachineArn: MACHINE,
      statusFilter: 'FAILED',
    });
    // The second execution started an hour before the first, before --since: the list ends there.
    const lines = out.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^STARTED\s+STATUS\s+DURATION\s+TEAM\s+STAGE\s+AUDIENCE\s+EXECUTION\s+FILE$/);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(
      /SUCCEEDED\s+42s\s+teamA\s+Succeeded\s+aud-123\s+churn-ok\s+incoming\/teamA\/churn\.csv/,
    );
  });

  it('--team keeps the files under incoming/<team>/ exactly, not every name that starts with it', async () => {
    // Names as start-pipeline makes them: the slug of the path below incoming/, then a hash.
    const keys: Record<string, string> = {
      'teamA-churn-11111111': 'incoming/teamA/churn.csv',
      'teamA-x-churn-22222222': 'incoming/teamA-x/churn.csv',
      'teamA-churn-33333333': 'incoming/teamA-churn.csv',
      'teamAB-churn-44444444': 'incoming/teamAB/churn.csv',
      'other-churn-55555555': 'incoming/other/churn.csv',
    };
    const ok = EXECUTIONS['churn-ok']!;
    sfnMock.on(ListExecutionsCommand).resolves({
      executions: Object.keys(keys).map((name) => ({
        executionArn: arnOf(name),
        stateMachineArn: MACHINE,
        name,
        status: 'SUCCEEDED',
        startDate: at(0),
      })),
    });
    const described: string[] = [];
    sfnMock.on(DescribeExecutionCommand).callsFake(({ executionArn }) => {
      const name = String(executionArn).split(':').pop()!;
      described.push(name);
      const teamFile = { ...file, key: keys[name] };
      return { ...ok.description, executionArn, name, input: JSON.stringify({ file: teamFile }) };
    });
    sfnMock.on(GetExecutionHistoryCommand).resolves({ events: [...ok.events].reverse() });
    const { out, io } = capture();
    expect(await runOpsCommand('executions', [], { json: true, team: 'teamA' }, io)).toBe(0);
    const listed = JSON.parse(out.stdout) as { execution: string; team: string }[];
    expect(listed.map((e) => [e.execution, e.team])).toEqual([['teamA-churn-11111111', 'teamA']]);
    // Only the names that could be the team's were read.
    expect(described.sort()).toEqual([
      'teamA-churn-11111111',
      'teamA-churn-33333333',
      'teamA-x-churn-22222222',
    ]);
    expect(await runOpsCommand('executions', [], { team: 'a/b' }, capture().io)).toBe(2);
  });

  it('is wired into the command line', async () => {
    const { out, io } = capture();
    const code = await main(['executions', '--stack', 'Other', '--limit', '1', '--json'], io);

    expect(code).toBe(0);
    expect(cfnMock.commandCalls(DescribeStacksCommand)[0]!.args[0].input).toEqual({ StackName: 'Other' });
    expect(JSON.parse(out.stdout)).toHaveLength(1);
  });

  it('parses --since and --status, and refuses what it cannot read', () => {
    const now = at(0);
    expect(parseSince('24h', now)).toEqual(new Date(now.getTime() - 86_400_000));
    expect(parseSince('90m', now)).toEqual(new Date(now.getTime() - 5_400_000));
    expect(parseSince('2026-11-28', now)).toEqual(new Date('2026-11-28T00:00:00Z'));
    expect(() => parseSince('yesterday', now)).toThrow(OpsError);
    expect(() => parseSince('2026-13-45', now)).toThrow(/--since must be/);
    expect(parseStatus('timed_out')).toBe('TIMED_OUT');
    expect(() => parseStatus('BROKEN')).toThrow(/--status must be one of/);
    expect([
      formatDuration(450),
      formatDuration(42_000),
      formatDuration(125_000),
      formatDuration(7_500_000),
    ]).toEqual(['450ms', '42s', '2m05s', '2h05m']);
  });
});

describe('aep-audience show', () => {
  it("tells one execution's states, retries, failure and reports, and what to do next", async () => {
    bucket.put(
      'reports/churn-down/validation.json',
      JSON.stringify({ valid: true, rows: 40, invalidRows: 0, invalidByCode: {}, identities: { Email: 40 } }),
    );
    bucket.put(
      'reports/churn-down/error.json',
      JSON.stringify({ code: 'AEP_UNAVAILABLE', message: 'AEP answered 503 to GET run', redrivable: true }),
    );
    const { out, io } = capture();
    const code = await runOpsCommand('show', ['churn-down'], {}, io);

    expect(code).toBe(0);
    expect(sfnMock.commandCalls(DescribeExecutionCommand)[0]!.args[0].input).toEqual({
      executionArn: arnOf('churn-down'),
    });
    expect(out.stdout).toContain('file       s3://drop-bucket/incoming/teamA/churn.csv');
    expect(out.stdout).toMatch(/status {5}FAILED {2}AEP_UNAVAILABLE: AEP answered 503 to GET run/);
    expect(out.stdout).toMatch(
      /CheckIngestion\s+1m45s\s+FAILED AEP_UNAVAILABLE: AEP answered 503 to GET run \(1 failed attempt retried\)/,
    );
    expect(out.stdout).toMatch(/ValidateFile\s+2s\s+ok/);
    expect(out.stdout).toContain('validation.json  valid: 40 rows, 0 invalid (none); identities: Email 40');
    expect(out.stdout).toContain(
      'error.json       AEP_UNAVAILABLE: AEP answered 503 to GET run (redrivable)',
    );
    expect(out.stdout).toContain('aep-audience redrive churn-down (resumes at CheckIngestion)');
  });

  it('marks where a redrive resumed, and reads result.json of a success (--json)', async () => {
    bucket.put(
      'reports/churn-again/result.json',
      JSON.stringify({
        audienceId: 'aud-123',
        refreshed: false,
        runId: 'run-9',
        destinations: [{ flowId: 'flow-1', kind: 'streaming', status: 'ADDED' }],
      }),
    );
    const { out, io } = capture();
    const code = await runOpsCommand('show', [arnOf('churn-again')], { json: true }, io);

    expect(code).toBe(0);
    const story = JSON.parse(out.stdout);
    expect(story).toMatchObject({ status: 'SUCCEEDED', redriveCount: 1, stage: 'Succeeded' });
    expect(story.stages.map((s: { state: string; outcome: string }) => `${s.state}:${s.outcome}`)).toEqual([
      'CheckIngestion:FAILED',
      'CheckIngestion:DONE',
      'Succeeded:IN_PROGRESS',
    ]);
    expect(story.stages[1].redriven).toBe(1);
    expect(story.reports).toMatchObject({
      prefix: 's3://drop-bucket/reports/churn-again/',
      validation: null,
      result: { audienceId: 'aud-123', destinations: [{ flowId: 'flow-1', status: 'ADDED' }] },
      error: null,
    });
  });

  it('reads a history of several pages whole, and only the newest pages for where it stands', async () => {
    // Three events a page, each page's token the index of its first event, as a long history comes back.
    const pageTokens: (string | undefined)[] = [];
    sfnMock
      .on(GetExecutionHistoryCommand)
      .callsFake(({ executionArn, reverseOrder, nextToken, maxResults }) => {
        pageTokens.push(nextToken);
        const all = [...EXECUTIONS[String(executionArn).split(':').pop()!]!.events];
        const ordered = reverseOrder ? all.reverse() : all;
        const from = Number(nextToken ?? 0);
        const to = from + Math.min(3, maxResults ?? 3);
        return { events: ordered.slice(from, to), ...(to < ordered.length ? { nextToken: String(to) } : {}) };
      });
    const { out, io } = capture();
    expect(await runOpsCommand('show', ['churn-down'], {}, io)).toBe(0);

    const events = EXECUTIONS['churn-down']!.events;
    expect(pageTokens).toEqual([undefined, '3', '6']);
    expect(events).toHaveLength(9);
    // The failure sits on the last page: the story has it, so every page was read.
    expect(out.stdout).toMatch(/CheckIngestion\s+1m45s\s+FAILED AEP_UNAVAILABLE/);

    pageTokens.length = 0;
    const latest = await executionHistory(new SFNClient({ region: 'eu-west-1' }), arnOf('churn-down'), {
      latest: 4,
    });
    expect(pageTokens).toEqual([undefined, '3']);
    expect(latest).toEqual(events.slice(-4));
  });

  it('answers an unknown execution with a clear message and exit code 2', async () => {
    const { out, io } = capture();
    const code = await runOpsCommand('show', ['no-such-run'], {}, io);

    expect(code).toBe(2);
    expect(out.stderr).toContain('no execution no-such-run in this pipeline');
    expect(out.stderr).toContain("list them with 'aep-audience executions'");
  });
});

describe('aep-audience redrive', () => {
  it('redrives an execution an outage stopped, at the task that failed', async () => {
    const { out, io } = capture();
    const code = await runOpsCommand('redrive', ['churn-down'], {}, io);

    expect(code).toBe(0);
    expect(sfnMock.commandCalls(RedriveExecutionCommand).map((c) => c.args[0].input)).toEqual([
      { executionArn: arnOf('churn-down') },
    ]);
    expect(out.stdout).toContain('Redriven churn-down at CheckIngestion (redrive 1)');
  });

  it('refuses one the file made fail, with the reason, and says to upload a fixed file', async () => {
    const { out, io } = capture();
    const code = await runOpsCommand('redrive', ['churn-bad'], { json: true }, io);

    expect(code).toBe(1);
    expect(sfnMock.commandCalls(RedriveExecutionCommand)).toHaveLength(0);
    const outcome = JSON.parse(out.stdout);
    expect(outcome.redriven).toBe(false);
    expect(outcome.reason).toContain('it failed because of the file (VALIDATION_FAILED at ValidateFile');
    expect(outcome.reason).toContain('Fix the file and upload it again under incoming/');
  });

  it('refuses one that succeeded', async () => {
    const { out, io } = capture();
    expect(await runOpsCommand('redrive', ['churn-ok'], {}, io)).toBe(1);
    expect(out.stdout).toContain('Not redriven: churn-ok: it is SUCCEEDED');
    expect(sfnMock.commandCalls(RedriveExecutionCommand)).toHaveLength(0);
  });

  it("reports Step Functions' own refusal (past the 14 days) with exit code 1", async () => {
    sfnMock
      .on(RedriveExecutionCommand)
      .rejects(named(new Error('Execution redrivable period exceeded.'), 'ExecutionNotRedrivable'));
    const { out, io } = capture();
    expect(await runOpsCommand('redrive', ['churn-down'], {}, io)).toBe(1);
    expect(out.stderr).toContain(
      'Step Functions refused to redrive churn-down: Execution redrivable period exceeded.',
    );
  });
});

describe('finding the stack', () => {
  it('names a missing stack and how to point at the right one (exit 2)', async () => {
    cfnMock
      .on(DescribeStacksCommand)
      .rejects(named(new Error('Stack with id Nope does not exist'), 'ValidationError'));
    const { out, io } = capture();
    const code = await runOpsCommand('executions', [], { stack: 'Nope', region: 'eu-west-1' }, io);

    expect(code).toBe(2);
    expect(out.stderr).toContain('stack "Nope" was not found in eu-west-1');
    expect(out.stderr).toContain('--stack NAME');
    expect(sfnMock.calls()).toHaveLength(0);
  });

  it('says so when there are no AWS credentials (exit 2)', async () => {
    cfnMock
      .on(DescribeStacksCommand)
      .rejects(named(new Error('Could not load credentials from any providers'), 'CredentialsProviderError'));
    const { out, io } = capture();
    expect(await runOpsCommand('show', ['churn-ok'], {}, io)).toBe(2);
    expect(out.stderr).toContain('no AWS credentials found: set AWS_PROFILE');
  });

  it("refuses a stack without the pipeline's outputs", async () => {
    cfnMock.on(DescribeStacksCommand).resolves({
      Stacks: [{ StackName: 'Other', CreationTime: at(0), StackStatus: 'CREATE_COMPLETE', Outputs: [] }],
    });
    const { out, io } = capture();
    expect(await runOpsCommand('redrive', ['churn-down'], { stack: 'Other' }, io)).toBe(2);
    expect(out.stderr).toContain('stack "Other" has no BucketName/StateMachineArn outputs');
  });

  it('answers a missing or extra argument as a usage error', async () => {
    const { out, io } = capture();
    expect(await runOpsCommand('redrive', [], {}, io)).toBe(2);
    expect(await runOpsCommand('executions', ['x'], {}, io)).toBe(2);
    expect(out.stderr).toContain('redrive takes one execution: its name or ARN');
    expect(cfnMock.calls()).toHaveLength(0);
  });
});
