// Growing, bounded poll intervals for the Wait states after CreateAudience and StartIngestion
// (docs/architecture.md#state-machine):
// sleeping inside a Lambda would bill idle time, and unbounded polling would hit the 25,000-event history limit.
import { PipelineError } from './pipeline-errors.ts';
import type { Poll } from './state.ts';

export const FIRST_WAIT_SECONDS = 15;
export const MAX_WAIT_SECONDS = 300;
/** Checks of an audience-creation operation before the execution gives up (about 3 hours). */
export const OPERATION_POLL_LIMIT = 40;
/** Checks of an ingestion run before the execution gives up (about 6.4 hours). */
export const RUN_POLL_LIMIT = 80;

export function firstPoll(): Poll {
  return { attempt: 0, waitSeconds: FIRST_WAIT_SECONDS };
}

/** Seconds waited in total before `checks` checks, following the schedule of firstPoll/nextPoll. */
export function totalWaitSeconds(checks: number): number {
  let total = 0;
  let wait = FIRST_WAIT_SECONDS;
  for (let i = 0; i < checks; i += 1) {
    total += wait;
    wait = Math.min(wait * 2, MAX_WAIT_SECONDS);
  }
  return total;
}

/**
 * The poll after a check that found the work still processing. `prev.attempt` counts the checks done before
 * this one, so this check was number `prev.attempt + 1`; once that reaches `maxAttempts` the execution stops
 * with AEP_POLL_LIMIT (uncaught). A redrive re-runs the failed check with the same input: it checks AEP again
 * and fails again at once if AEP is still processing, so the message says so.
 */
export function nextPoll(prev: Poll, maxAttempts: number, subject = 'the audience'): Poll {
  const checksDone = prev.attempt + 1;
  if (checksDone >= maxAttempts) {
    const hours = (totalWaitSeconds(checksDone) / 3600).toFixed(1);
    throw new PipelineError(
      'AEP_POLL_LIMIT',
      `AEP still reports ${subject} as processing after ${checksDone} checks over about ${hours} hours; ` +
        'redrive the execution to keep waiting (a redrive checks again at once and goes on only if AEP has finished)',
    );
  }
  return { attempt: checksDone, waitSeconds: Math.min(Math.max(prev.waitSeconds, 1) * 2, MAX_WAIT_SECONDS) };
}
