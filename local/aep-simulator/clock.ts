// The simulator's clock: simulated time runs `timeScale` times faster than real time and can be pushed forward.

export interface SimClock {
  /** Simulated epoch milliseconds. */
  nowMs(): number;
  /** Simulated epoch seconds (integer). */
  nowSec(): number;
  /** Moves simulated time forward without waiting. */
  advance(seconds: number): void;
  /** Simulated seconds per real second. */
  readonly timeScale: number;
}

export function createClock(timeScale = 1, startAtMs?: number): SimClock {
  const realStart = Date.now();
  const simStart = Math.max(startAtMs ?? realStart, realStart);
  let offsetMs = 0;
  const nowMs = () => simStart + (Date.now() - realStart) * timeScale + offsetMs;
  return {
    timeScale,
    nowMs,
    nowSec: () => Math.floor(nowMs() / 1000),
    advance(seconds: number) {
      offsetMs += seconds * 1000;
    },
  };
}
