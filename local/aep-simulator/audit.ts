// Reads the simulator's record after a run the way an independent checker would: calls repeated before the
// Retry-After of their 429, audiences created twice, dataflows holding an audience twice, overlapping runs.
import type { AepSimulator, SimCall } from './index.ts';

/** A call sent again while the Retry-After of its earlier 429 had not elapsed. */
export interface EarlyRepeat {
  requestKey: string;
  throttledAtMs: number;
  retryAfterSeconds: number;
  repeatedAtMs: number;
}

/**
 * Every request that repeats a 429'd request (same method, path, query and body, from the same client: its
 * User-Agent names the execution environment) before that 429's Retry-After elapsed, judged by when the repeat
 * arrived. `slackMs` absorbs timer granularity between client and server.
 */
export function earlyRepeats(calls: readonly SimCall[], slackMs = 25): EarlyRepeat[] {
  const throttled = new Map<string, SimCall>();
  const found: EarlyRepeat[] = [];
  for (const call of [...calls].sort((a, b) => a.receivedAtMs - b.receivedAtMs)) {
    const key = `${call.client ?? ''} ${call.requestKey}`;
    const earlier = throttled.get(key);
    if (earlier?.retryAfterSeconds !== undefined && call.receivedAtMs > earlier.atMs) {
      const notBefore = earlier.atMs + earlier.retryAfterSeconds * 1000;
      if (call.receivedAtMs < notBefore - slackMs) {
        found.push({
          requestKey: call.requestKey,
          throttledAtMs: earlier.atMs,
          retryAfterSeconds: earlier.retryAfterSeconds,
          repeatedAtMs: call.receivedAtMs,
        });
      }
    }
    if (call.status === 429) throttled.set(key, call);
    else if (call.receivedAtMs > (earlier?.atMs ?? 0)) throttled.delete(key);
  }
  return found;
}

/** Audience names (case-insensitive) that AEP holds more than once. */
export function duplicateAudiences(sim: AepSimulator): string[] {
  const seen = new Map<string, number>();
  for (const audience of sim.audiences()) {
    const name = audience.name.toLowerCase();
    seen.set(name, (seen.get(name) ?? 0) + 1);
  }
  return [...seen].filter(([, count]) => count > 1).map(([name]) => name);
}

/** `flowId: audienceId` for every audience a dataflow selects more than once. */
export function duplicateSelectors(sim: AepSimulator, flowIds: readonly string[]): string[] {
  const found: string[] = [];
  for (const flowId of flowIds) {
    const selectors = sim.flow(flowId)?.selectors ?? [];
    for (const id of new Set(selectors)) {
      if (selectors.filter((s) => s === id).length > 1) found.push(`${flowId}: ${id}`);
    }
  }
  return found;
}

/** `audienceId: runA overlaps runB` for runs of one audience whose lifetimes (start to end) overlap. */
export function overlappingRuns(sim: AepSimulator): string[] {
  const found: string[] = [];
  for (const audience of sim.audiences()) {
    const runs = [...sim.runs(audience.audienceId)].sort((a, b) => a.createdAt - b.createdAt);
    for (let i = 1; i < runs.length; i++) {
      const previous = runs[i - 1]!;
      const run = runs[i]!;
      if (run.createdAt < previous.endsAt) {
        found.push(`${audience.audienceId}: run ${run.runId} started before run ${previous.runId} ended`);
      }
    }
  }
  return found;
}

/** Calls per route, for reports: `{ 'GET /flows/{id}': 12, … }`. */
export function callsByRoute(calls: readonly SimCall[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const call of calls) counts[call.route] = (counts[call.route] ?? 0) + 1;
  return counts;
}
