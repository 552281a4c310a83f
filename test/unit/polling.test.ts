// Poll schedule of the Wait states: doubling from 15 s, capped at 5 min, bounded attempts.
import { describe, expect, it } from 'vitest';
import { PipelineError } from '../../functions/shared/pipeline-errors.ts';
import {
  firstPoll,
  MAX_WAIT_SECONDS,
  nextPoll,
  OPERATION_POLL_LIMIT,
  RUN_POLL_LIMIT,
  totalWaitSeconds,
} from '../../functions/shared/polling.ts';

describe('polling', () => {
  it('starts at 15 s and doubles up to the 300 s cap', () => {
    const waits: number[] = [];
    let poll = firstPoll();
    expect(poll).toEqual({ attempt: 0, waitSeconds: 15 });
    for (let i = 0; i < 7; i += 1) {
      poll = nextPoll(poll, OPERATION_POLL_LIMIT);
      waits.push(poll.waitSeconds);
    }
    expect(waits).toEqual([30, 60, 120, 240, 300, 300, 300]);
    expect(poll.attempt).toBe(7);
    expect(MAX_WAIT_SECONDS).toBe(300);
  });

  it('allows exactly maxAttempts checks, then throws AEP_POLL_LIMIT with a readable message', () => {
    let poll = firstPoll();
    let checks = 0;
    let thrown: unknown;
    try {
      for (;;) {
        checks += 1;
        poll = nextPoll(poll, 5, 'audience "x"');
      }
    } catch (error) {
      thrown = error;
    }
    expect(checks).toBe(5);
    expect(thrown).toBeInstanceOf(PipelineError);
    expect((thrown as PipelineError).name).toBe('AEP_POLL_LIMIT');
    // 15 + 30 + 60 + 120 + 240 s = 465 s ≈ 0.1 h
    expect((thrown as PipelineError).message).toBe(
      'AEP still reports audience "x" as processing after 5 checks over about 0.1 hours; ' +
        'redrive the execution to keep waiting (a redrive checks again at once and goes on only if AEP has finished)',
    );
  });

  it('limits operations to 40 checks (about 3 h) and runs to 80 (about 6.4 h)', () => {
    expect(OPERATION_POLL_LIMIT).toBe(40);
    expect(RUN_POLL_LIMIT).toBe(80);
    expect(totalWaitSeconds(40)).toBe(465 + 35 * 300);
    expect(() => nextPoll({ attempt: 39, waitSeconds: 300 }, OPERATION_POLL_LIMIT)).toThrow(
      /40 checks over about 3\.0 hours/,
    );
    expect(nextPoll({ attempt: 38, waitSeconds: 300 }, OPERATION_POLL_LIMIT)).toEqual({
      attempt: 39,
      waitSeconds: 300,
    });
    expect(() => nextPoll({ attempt: 79, waitSeconds: 300 }, RUN_POLL_LIMIT)).toThrow(
      /80 checks over about 6\.4 hours/,
    );
  });
});
