// The failure report of an execution that did not succeed: the status rule's event, as EventBridge sends it
// to record-execution-failure in AWS (FAILED, TIMED_OUT and ABORTED only), which writes error.json.
import { matchesEventPattern } from './event-pattern.ts';
import { executionStatusEvent } from './events.ts';
import { failureReportFailedLine } from './progress.ts';
import type { LocalExecution } from './step-functions.ts';
import type { Json, TaskFunction } from './synthesized.ts';

export async function recordFailure(
  execution: LocalExecution,
  options: {
    stateMachineArn: string;
    /** The synthesized rule on the state machine's status changes; none reports nothing. */
    statusRule: Json;
    functions: Record<string, TaskFunction>;
    invoke: (fn: TaskFunction, payload: unknown) => Promise<unknown>;
    /** After the report: the notifications it published, on the progress line. */
    reported: () => void;
    progress?: (line: string) => void;
  },
): Promise<void> {
  if (execution.status === 'SUCCEEDED') return;
  const statusEvent = executionStatusEvent(execution, options.stateMachineArn);
  const fn = options.functions['record-execution-failure'];
  if (!fn || !options.statusRule || !matchesEventPattern(options.statusRule, statusEvent)) return;
  try {
    await options.invoke(fn, statusEvent);
    options.reported();
  } catch (error) {
    options.progress?.(failureReportFailedLine(execution.name, error as Error));
  }
}
