// Reads one execution from Step Functions' own record (its description and event history): the file, the
// stage it reached, the audience, each state visited, and whether it stopped because of the file or an outage.
import type { DescribeExecutionOutput, HistoryEvent } from '@aws-sdk/client-sfn';
import { causeMessage, isCaughtCode } from '../../functions/shared/pipeline-errors.ts';

/**
 * The Task that files a wrong file into failed/ (docs/architecture.md#failures-caught-or-redriven); the Fail
 * state after it ends the execution.
 */
export const HANDLE_FAILURE_STATE = 'HandleFailure';

export interface StateVisit {
  state: string;
  /** Task, Choice, Wait, Pass, Fail, Succeed. */
  type: string;
  enteredAt: Date;
  exitedAt?: Date;
  /** Failed attempts of a Task, each `{error, cause}`; retried ones and the last. */
  failures: { error: string; message: string }[];
  outcome: 'DONE' | 'FAILED' | 'IN_PROGRESS';
  /** Set on the state a redrive resumed at: which redrive (1, 2, …). */
  redriven?: number;
}

/**
 * Why the execution stopped, and so whether a redrive can help
 * (docs/architecture.md#failures-caught-or-redriven).
 */
export type Stop =
  | { kind: 'NONE' }
  /** A wrong file or request: caught into HandleFailure, ended in the Fail state. The fix is a new upload. */
  | { kind: 'FILE'; code: string; message: string; stage: string }
  /** Stopped at a state by an uncaught error, a timeout or an abort: a redrive resumes there. */
  | { kind: 'OUTAGE'; state: string; code: string; message: string; handlingFailure: boolean }
  /** Stopped somewhere a redrive would only repeat (not at a Task or Wait). */
  | { kind: 'OTHER'; state: string; code: string; message: string };

export interface ExecutionFacts {
  name: string;
  executionArn: string;
  status: string;
  file: { bucket: string; key: string } | null;
  startDate: Date | undefined;
  stopDate: Date | undefined;
  /** Milliseconds from start to stop, or to `now` while running. */
  durationMs: number | null;
  /** Where the file is or stopped: the state it is in, failed in, or was rejected at; `Succeeded` at the end. */
  stage: string | null;
  audienceId: string | null;
  runId: string | null;
  redriveCount: number;
  stop: Stop;
}

// biome-ignore lint/suspicious/noExplicitAny: state documents are JSON read back from Step Functions.
type Json = any;

function parseJson(text: string | undefined): Json {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const ENTERED = /^(\w+)StateEntered$/;
const EXITED = /^(\w+)StateExited$/;

/** The state visits in order, with the failed attempts of each Task. */
export function stateVisits(events: HistoryEvent[]): StateVisit[] {
  const visits: StateVisit[] = [];
  let redrive: number | undefined;
  for (const event of events) {
    const type = event.type ?? '';
    const at = event.timestamp ?? new Date(0);
    if (type === 'ExecutionRedriven') {
      redrive = event.executionRedrivenEventDetails?.redriveCount ?? 1;
      continue;
    }
    const entered = ENTERED.exec(type);
    if (entered && event.stateEnteredEventDetails?.name) {
      visits.push({
        state: event.stateEnteredEventDetails.name,
        type: entered[1]!,
        enteredAt: at,
        failures: [],
        outcome: 'IN_PROGRESS',
        ...(redrive ? { redriven: redrive } : {}),
      });
      redrive = undefined;
      continue;
    }
    const current = visits.at(-1);
    if (!current) continue;
    if (EXITED.test(type)) {
      current.exitedAt = at;
      current.outcome = 'DONE';
      continue;
    }
    const failure =
      event.lambdaFunctionFailedEventDetails ??
      event.lambdaFunctionTimedOutEventDetails ??
      event.lambdaFunctionScheduleFailedEventDetails ??
      event.lambdaFunctionStartFailedEventDetails ??
      event.taskFailedEventDetails ??
      event.taskTimedOutEventDetails;
    if (failure) {
      current.failures.push({
        error: failure.error ?? 'States.TaskFailed',
        message: causeMessage(failure.cause ?? ''),
      });
      continue;
    }
    if (/^Execution(Failed|TimedOut|Aborted)$/.test(type)) {
      current.outcome = 'FAILED';
      current.exitedAt = at;
    }
  }
  return visits;
}

/** The latest state document Step Functions recorded: the output of the last state that exited. */
function latestDocument(events: HistoryEvent[]): Json {
  for (let i = events.length - 1; i >= 0; i--) {
    const event = events[i]!;
    const document =
      parseJson(event.stateExitedEventDetails?.output) ??
      parseJson(event.stateEnteredEventDetails?.input) ??
      parseJson(event.executionStartedEventDetails?.input);
    if (document && typeof document === 'object') return document;
  }
  return undefined;
}

function lastCloseDetails(events: HistoryEvent[]): { error?: string; cause?: string } {
  for (let i = events.length - 1; i >= 0; i--) {
    const event = events[i]!;
    const details =
      event.executionFailedEventDetails ??
      event.executionTimedOutEventDetails ??
      event.executionAbortedEventDetails;
    if (details) return details;
    if (event.type === 'ExecutionRedriven') break;
  }
  return {};
}

/**
 * Sorts a closed, unsuccessful execution into "the file was wrong" or "something was down"
 * (docs/architecture.md#failures-caught-or-redriven).
 */
export function classifyStop(
  description: Pick<DescribeExecutionOutput, 'status' | 'error' | 'cause'>,
  visits: StateVisit[],
  events: HistoryEvent[],
): Stop {
  const status = description.status ?? '';
  if (status === 'SUCCEEDED' || status === 'RUNNING' || status === 'PENDING_REDRIVE') return { kind: 'NONE' };
  const details = lastCloseDetails(events);
  const code = description.error ?? details.error ?? status;
  const message = causeMessage(description.cause ?? details.cause ?? '');
  const last = visits.at(-1);
  if (!last) return { kind: 'OTHER', state: '(none)', code, message };
  if (last.type === 'Fail') {
    return { kind: 'FILE', code, message, stage: rejectedAt(visits) };
  }
  if (last.type === 'Task' || last.type === 'Wait') {
    const handlingFailure = last.state === HANDLE_FAILURE_STATE;
    // A caught code that still stopped the execution at a Task can only be the file's fault, retried in vain.
    if (!handlingFailure && isCaughtCode(code)) return { kind: 'FILE', code, message, stage: last.state };
    return { kind: 'OUTAGE', state: last.state, code, message, handlingFailure };
  }
  return { kind: 'OTHER', state: last.state, code, message };
}

/** The last Task before HandleFailure: where the wrong file or request was found. */
function rejectedAt(visits: StateVisit[]): string {
  const handle = visits.findLastIndex((v) => v.state === HANDLE_FAILURE_STATE);
  const before = visits.slice(0, handle === -1 ? visits.length : handle);
  return before.findLast((v) => v.type === 'Task')?.state ?? before.at(-1)?.state ?? '(none)';
}

/** Everything an operator reads about one execution, from its description and (part of) its history. */
export function executionFacts(
  description: DescribeExecutionOutput,
  events: HistoryEvent[],
  now: Date = new Date(),
): ExecutionFacts {
  const visits = stateVisits(events);
  const stop = classifyStop(description, visits, events);
  const input = parseJson(description.input);
  const document = latestDocument(events) ?? input;
  const file = input?.file ?? document?.file;
  const start = description.startDate;
  const end = description.stopDate ?? (description.status === 'RUNNING' ? now : undefined);
  let stage: string | null = visits.at(-1)?.state ?? null;
  if (description.status === 'SUCCEEDED') stage = 'Succeeded';
  else if (stop.kind === 'FILE') stage = stop.stage;
  return {
    name: description.name ?? description.executionArn?.split(':').pop() ?? '',
    executionArn: description.executionArn ?? '',
    status: description.status ?? 'UNKNOWN',
    file: file?.key ? { bucket: String(file.bucket), key: String(file.key) } : null,
    startDate: start,
    stopDate: description.stopDate,
    durationMs: start && end ? end.getTime() - start.getTime() : null,
    stage,
    audienceId: document?.audience?.audienceId ?? null,
    runId: document?.ingestion?.runId ?? null,
    redriveCount: description.redriveCount ?? 0,
    stop,
  };
}
