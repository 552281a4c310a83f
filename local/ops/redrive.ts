// `aep-audience redrive <execution>`: resume an execution an outage stopped, at the task that failed, with
// Step Functions redrive. One the file made fail is refused: the fix for that is a new upload.
import { RedriveExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { OpsError } from './aws.ts';
import { type ExecutionFacts, executionFacts } from './history.ts';
import { describeExecution, executionArnFor, executionHistory } from './read.ts';
import type { PipelineStackOutputs } from './stack.ts';

export interface RedriveOutcome {
  execution: string;
  executionArn: string;
  redriven: boolean;
  /** The state the execution resumes at, when redriven. */
  resumesAt?: string;
  redriveCount?: number;
  /** Why it was refused, or a note on the redrive. */
  reason: string;
}

/**
 * Whether a redrive can help, and why not when it cannot: the two kinds of failure of
 * docs/architecture.md#failures-caught-or-redriven.
 */
export function redriveDecision(
  facts: ExecutionFacts,
): { ok: true; state: string; note: string } | { ok: false; reason: string } {
  const { stop, status } = facts;
  switch (stop.kind) {
    case 'NONE':
      return {
        ok: false,
        reason: `it is ${status}: only an execution an outage stopped (FAILED at a task, TIMED_OUT or ABORTED) can be redriven`,
      };
    case 'FILE':
      return {
        ok: false,
        reason:
          `it failed because of the file (${stop.code} at ${stop.stage}: ${stop.message}); a redrive would fail ` +
          'the same way. Fix the file and upload it again under incoming/: that starts a new execution',
      };
    case 'OTHER':
      return {
        ok: false,
        reason: `it stopped in ${stop.state} (${stop.code}: ${stop.message}), not at a task; a redrive would fail the same way`,
      };
    case 'OUTAGE':
      return {
        ok: true,
        state: stop.state,
        note: stop.handlingFailure
          ? `it stopped while filing a failure (${stop.code}); the redrive finishes that, and the file still needs a fixed upload`
          : `it stopped at ${stop.state} on ${stop.code}${stop.message ? ` (${stop.message})` : ''}; every task is idempotent, so nothing is created twice`,
      };
  }
}

export async function redriveExecution(
  sfn: SFNClient,
  stack: PipelineStackOutputs,
  ref: string,
): Promise<RedriveOutcome> {
  const arn = executionArnFor(stack, ref);
  const description = await describeExecution(sfn, arn);
  const facts = executionFacts(description, await executionHistory(sfn, arn));
  const decision = redriveDecision(facts);
  const base = { execution: facts.name, executionArn: arn };
  if (!decision.ok) return { ...base, redriven: false, reason: decision.reason };
  try {
    await sfn.send(new RedriveExecutionCommand({ executionArn: arn }));
  } catch (error) {
    // Step Functions' own refusals: past the 14-day window, the history limit, a state machine being deleted.
    if (
      (error as Error).name === 'ExecutionNotRedrivable' ||
      (error as Error).name === 'ExecutionLimitExceeded'
    ) {
      throw new OpsError(`Step Functions refused to redrive ${facts.name}: ${(error as Error).message}`, 1);
    }
    throw error;
  }
  return {
    ...base,
    redriven: true,
    resumesAt: decision.state,
    redriveCount: facts.redriveCount + 1,
    reason: decision.note,
  };
}

export function formatRedrive(outcome: RedriveOutcome): string {
  if (!outcome.redriven) return `Not redriven: ${outcome.execution}: ${outcome.reason}.\n`;
  return (
    `Redriven ${outcome.execution} at ${outcome.resumesAt} (redrive ${outcome.redriveCount}): ${outcome.reason}.\n` +
    `Follow it with: aep-audience show ${outcome.execution}\n`
  );
}
