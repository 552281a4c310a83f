// A local Step Functions service: runs the synthesized definition with aws-local-stepfunctions, keeps the
// executions with their history, and applies AWS's StartExecution naming rules.
import '../polyfills.ts';
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
  output?: unknown;
  retryAttempt?: number;
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
  /** Resolves when the execution has closed, whatever its status. */
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

export class LocalStepFunctions {
  readonly stateMachineArn: string;
  private readonly executions = new Map<string, LocalExecution>();
  private readonly machine: StateMachine;

  constructor(private readonly options: LocalStepFunctionsOptions) {
    this.stateMachineArn = `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:${options.stateMachineName}`;
    this.machine = new StateMachine(options.definition, { validationOptions: { checkArn: false } });
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
    const arn = this.executionArn(name);
    const history: HistoryEvent[] = [];
    let resolveDone!: (e: LocalExecution) => void;
    const execution: LocalExecution = {
      name,
      arn,
      input,
      status: 'RUNNING',
      startDate: new Date(),
      history,
      done: new Promise((resolve) => {
        resolveDone = resolve;
      }),
      abort: () => undefined,
    };
    this.executions.set(name, execution);

    const record = (event: HistoryEvent) => {
      history.push(event);
      this.options.onEvent?.(execution, event);
    };
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
      context: { Execution: { Id: arn, Name: name, StartTime: execution.startDate.toISOString() } },
      noThrowOnAbort: true,
    };
    const run = this.machine.run(JSON.parse(input), runOptions);
    execution.abort = run.abort;

    const consumeEvents = (async () => {
      for await (const log of run.eventLogs) {
        const event: HistoryEvent = { type: log.type, timestamp: log.timestamp };
        if ('state' in log && log.state) {
          event.stateName = log.state.name;
          event.stateType = log.state.type;
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
    return execution;
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
