// A local Step Functions service: runs the synthesized definition with aws-local-stepfunctions, keeps the
// executions with their history, applies AWS's StartExecution naming rules, and redrives as AWS does.
import { type RunOptions, StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { LOCAL_ACCOUNT, LOCAL_REGION } from './synthesized.ts';

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

export interface HistoryEvent {
  type: string;
  timestamp: number;
  stateName?: string;
  stateType?: string;
  error?: string;
  cause?: string;
  /** StateEntered: the state's input, which a redrive hands the failed state again. */
  input?: unknown;
  output?: unknown;
  retryAttempt?: number;
  /** ExecutionRedriven only: how many times the execution has been redriven, this one included. */
  redriveCount?: number;
  /** LocalWaitScaled only: the seconds AWS would wait, and the milliseconds waited here. */
  waitSeconds?: number;
  waitMs?: number;
}

export interface LocalExecution {
  name: string;
  arn: string;
  input: string;
  status: ExecutionStatus;
  startDate: Date;
  stopDate?: Date;
  output?: unknown;
  error?: string;
  cause?: string;
  history: HistoryEvent[];
  redriveCount: number;
  redriveDate?: Date;
  /** Resolves when the execution (or its latest redrive) has closed, whatever its status. */
  done: Promise<LocalExecution>;
  abort(): void;
}

/** A Task state's local implementation: the Lambda handler, called with the task's payload. */
export type TaskInvoker = (
  stateName: string,
  payload: unknown,
  execution: LocalExecution,
) => Promise<unknown>;

export interface LocalStepFunctionsOptions {
  definition: StateMachineDefinition;
  stateMachineName: string;
  invokeTask: TaskInvoker;
  /**
   * Simulated seconds per real second for Wait states and Retry intervals: 1000 turns a 15 s Wait into
   * 15 ms. Task code and AEP see the same scale (the simulator's clock is set to it).
   */
  timeScale: number;
  onEvent?: (execution: LocalExecution, event: HistoryEvent) => void;
  onClosed?: (execution: LocalExecution) => void | Promise<void>;
}

export class ExecutionAlreadyExistsError extends Error {
  constructor(name: string) {
    super(`Execution Already Exists: 'arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:execution:…:${name}'`);
    this.name = 'ExecutionAlreadyExists';
  }
}

/** RedriveExecution refused: AWS's error name, and its reason. */
export class ExecutionNotRedrivableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExecutionNotRedrivable';
  }
}

const CLOSED_UNSUCCESSFULLY: ReadonlySet<ExecutionStatus> = new Set(['FAILED', 'TIMED_OUT', 'ABORTED']);

export class LocalStepFunctions {
  readonly stateMachineArn: string;
  private readonly executions = new Map<string, LocalExecution>();
  /** The definition as synthesized, and copies starting at a state a redrive resumes at. */
  private readonly machines = new Map<string, StateMachine>();

  constructor(private readonly options: LocalStepFunctionsOptions) {
    this.stateMachineArn = `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:${options.stateMachineName}`;
    this.machines.set(
      options.definition.StartAt,
      new StateMachine(options.definition, { validationOptions: { checkArn: false } }),
    );
  }

  /** The same definition entered at `stateName` (validated once, as the original). */
  private machineStartingAt(stateName: string): StateMachine {
    let machine = this.machines.get(stateName);
    if (!machine) {
      machine = new StateMachine(
        { ...this.options.definition, StartAt: stateName },
        { validationOptions: { noValidate: true } },
      );
      this.machines.set(stateName, machine);
    }
    return machine;
  }

  executionArn(name: string): string {
    return `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:execution:${this.options.stateMachineName}:${name}`;
  }

  get(nameOrArn: string): LocalExecution | undefined {
    return this.executions.get(nameOrArn.split(':').pop() ?? nameOrArn);
  }

  list(): LocalExecution[] {
    return [...this.executions.values()];
  }

  /**
   * StartExecution as AWS does it: a name already used answers the running execution when the input is the
   * same and it is still running, else ExecutionAlreadyExists.
   */
  start(name: string, input: string): { execution: LocalExecution; existing: boolean } {
    const existing = this.executions.get(name);
    if (existing) {
      if (existing.status === 'RUNNING' && existing.input === input)
        return { execution: existing, existing: true };
      throw new ExecutionAlreadyExistsError(name);
    }
    const execution = this.launch(name, input);
    return { execution, existing: false };
  }

  private launch(name: string, input: string): LocalExecution {
    const execution: LocalExecution = {
      name,
      arn: this.executionArn(name),
      input,
      status: 'RUNNING',
      startDate: new Date(),
      history: [],
      redriveCount: 0,
      // Both replaced by run() before anyone can see the execution.
      done: Promise.resolve() as unknown as Promise<LocalExecution>,
      abort: () => undefined,
    };
    this.executions.set(name, execution);
    this.run(execution, this.options.definition.StartAt, JSON.parse(input));
    return execution;
  }

  /**
   * RedriveExecution as AWS does it: a FAILED, TIMED_OUT or ABORTED execution resumes at the state it stopped
   * in, with that state's input from the history, under the same name and ARN; the history goes on with an
   * ExecutionRedriven event, the states that succeeded are not run again, and retry counts start afresh.
   */
  redrive(nameOrArn: string): LocalExecution {
    const execution = this.get(nameOrArn);
    if (!execution) throw new Error(`Execution Does Not Exist: '${nameOrArn}'`);
    if (!CLOSED_UNSUCCESSFULLY.has(execution.status)) {
      throw new ExecutionNotRedrivableError(
        `Execution is ${execution.status} and cannot be redriven: '${execution.arn}'`,
      );
    }
    const entered = [...execution.history].reverse().find((e) => e.type === 'StateEntered');
    if (!entered?.stateName) {
      throw new ExecutionNotRedrivableError(`Execution never entered a state: '${execution.arn}'`);
    }
    execution.redriveCount += 1;
    execution.redriveDate = new Date();
    execution.status = 'RUNNING';
    execution.stopDate = undefined;
    execution.output = undefined;
    execution.error = undefined;
    execution.cause = undefined;
    this.record(execution, {
      type: 'ExecutionRedriven',
      timestamp: execution.redriveDate.getTime(),
      redriveCount: execution.redriveCount,
    });
    this.run(execution, entered.stateName, entered.input ?? JSON.parse(execution.input));
    return execution;
  }

  private record(execution: LocalExecution, event: HistoryEvent): void {
    execution.history.push(event);
    this.options.onEvent?.(execution, event);
  }

  /** Runs the definition from `startAt` with `input`, appending to the execution's history until it closes. */
  private run(execution: LocalExecution, startAt: string, input: unknown): void {
    const { name, arn, history } = execution;
    let resolveDone!: (e: LocalExecution) => void;
    execution.done = new Promise((resolve) => {
      resolveDone = resolve;
    });
    const record = (event: HistoryEvent) => this.record(execution, event);
    const scale = this.options.timeScale;
    // The Wait states read their seconds from the poll a Task just returned (`<result>.poll.waitSeconds`);
    // the override scales exactly that value, so the number of polls matches what AWS would do.
    let pendingWaitSeconds: number | undefined;
    const waitTimeOverrides = new Proxy({} as Record<string, number>, {
      get: (_target, stateName) => {
        if (typeof stateName !== 'string') return undefined;
        const state = this.options.definition.States[stateName];
        if (state?.Type !== 'Wait') return undefined;
        const seconds = state.Seconds ?? pendingWaitSeconds ?? 0;
        const ms = Math.ceil((seconds * 1000) / scale);
        // Kept in the history so tests and the benchmark can read what AWS would have waited.
        record({
          type: 'LocalWaitScaled',
          timestamp: Date.now(),
          stateName,
          waitSeconds: seconds,
          waitMs: ms,
        });
        return ms;
      },
    });
    const retryIntervalOverrides: Record<string, number[]> = {};
    for (const [stateName, state] of Object.entries(this.options.definition.States)) {
      if ('Retry' in state && state.Retry) {
        retryIntervalOverrides[stateName] = state.Retry.map((r) =>
          Math.ceil(((r.IntervalSeconds ?? 1) * 1000) / scale),
        );
      }
    }
    const taskResourceLocalHandlers: Record<string, (payload: unknown) => Promise<unknown>> = {};
    for (const [stateName, state] of Object.entries(this.options.definition.States)) {
      if (state.Type !== 'Task') continue;
      taskResourceLocalHandlers[stateName] = async (payload) => {
        const result = await this.options.invokeTask(stateName, payload, execution);
        const poll = (result as { poll?: { waitSeconds?: unknown } } | null)?.poll;
        if (poll && typeof poll.waitSeconds === 'number') pendingWaitSeconds = poll.waitSeconds;
        return result;
      };
    }
    const runOptions: RunOptions = {
      overrides: {
        // The library types handlers over its own JSON type; ours return the handlers' JSON results.
        taskResourceLocalHandlers: taskResourceLocalHandlers as NonNullable<
          RunOptions['overrides']
        >['taskResourceLocalHandlers'],
        waitTimeOverrides,
        retryIntervalOverrides,
      },
      context: {
        Execution: {
          Id: arn,
          Name: name,
          StartTime: execution.startDate.toISOString(),
          RedriveCount: execution.redriveCount,
        },
      },
      noThrowOnAbort: true,
    };
    const run = this.machineStartingAt(startAt).run(input as Parameters<StateMachine['run']>[0], runOptions);
    execution.abort = run.abort;

    // A redrive continues the execution: AWS records ExecutionRedriven (above), not a second ExecutionStarted.
    const redriven = execution.redriveCount > 0;
    const consumeEvents = (async () => {
      for await (const log of run.eventLogs) {
        if (redriven && log.type === 'ExecutionStarted') continue;
        const event: HistoryEvent = { type: log.type, timestamp: log.timestamp };
        if ('state' in log && log.state) {
          event.stateName = log.state.name;
          event.stateType = log.state.type;
          if (log.type === 'StateEntered') event.input = log.state.input;
          if (log.type === 'StateExited') event.output = log.state.output;
        }
        if ('Error' in log) {
          event.error = String(log.Error);
          event.cause = typeof log.Cause === 'string' ? log.Cause : JSON.stringify(log.Cause);
        }
        if (log.type === 'StateRetried') event.retryAttempt = log.retry.attempt;
        record(event);
      }
    })();

    run.result.then(
      async (output) => {
        await consumeEvents;
        if (
          output === null &&
          execution.status === 'RUNNING' &&
          history.at(-1)?.type === 'ExecutionAborted'
        ) {
          execution.status = 'ABORTED';
        } else {
          execution.status = 'SUCCEEDED';
          execution.output = output;
        }
        await this.close(execution, resolveDone);
      },
      async () => {
        await consumeEvents;
        const failed = [...history]
          .reverse()
          .find((e) => e.type === 'ExecutionFailed' || e.type === 'ExecutionTimeout');
        execution.status = failed?.type === 'ExecutionTimeout' ? 'TIMED_OUT' : 'FAILED';
        execution.error = failed?.error ?? 'States.Runtime';
        execution.cause = failed?.cause ?? '';
        await this.close(execution, resolveDone);
      },
    );
  }

  private async close(execution: LocalExecution, resolveDone: (e: LocalExecution) => void): Promise<void> {
    execution.stopDate = new Date();
    try {
      await this.options.onClosed?.(execution);
    } finally {
      resolveDone(execution);
    }
  }
}
