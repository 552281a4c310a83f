// Many files at once: twenty executions against a simulator that throttles a third of its calls (429 with
// Retry-After) and slows a fifth, with a concurrent edit of a dataflow. Checked from the simulator's record of
// calls, as an independent AEP-compatible server would check it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  duplicateAudiences,
  duplicateSelectors,
  earlyRepeats,
  overlappingRuns,
} from '../../local/aep-simulator/audit.ts';
import { SIMULATOR_DEFAULT_FLOWS } from '../../local/aep-simulator/index.ts';
import { LocalPipeline } from '../../local/runner/pipeline.ts';

const smallCsv = path.resolve(import.meta.dirname, '../fixtures/workflow/customers-small.csv');
const flowIds = SIMULATOR_DEFAULT_FLOWS.map((f) => f.id);

let workDir: string;
let pipeline: LocalPipeline;

/** A manifest sending the file to both default dataflows, optionally under a shared audience name. */
function manifest(file: string, name?: string): string {
  const [streaming, batch] = flowIds;
  writeFileSync(
    file,
    JSON.stringify({
      ...(name ? { name } : {}),
      destinations: [
        { flowId: streaming, kind: 'streaming' },
        {
          flowId: batch,
          kind: 'batch',
          exportMode: 'DAILY_FULL_EXPORT',
          schedule: { frequency: 'DAILY', startDate: '2026-12-01', startTime: '20:00' },
          filenameTemplate: '%DESTINATION_NAME%_%SEGMENT_ID%_%DATETIME(YYYYMMdd_HHmmss)%',
        },
      ],
    }),
  );
  return file;
}

beforeAll(async () => {
  workDir = mkdtempSync(path.join(tmpdir(), 'aep-concurrency-'));
  pipeline = await LocalPipeline.start({
    stateDir: path.join(workDir, 'state'),
    ephemeral: true,
    // The faults below are real seconds (Retry-After 1 s, 2–5 s slow answers), as an independent server's are.
    // At 300× (not run's 1000×) a poll budget (40 checks, about 3 simulated hours) lasts 36 real seconds: longer
    // than those real-second faults can hold back a creation another file waits for.
    timeScale: 300,
  });
});

afterAll(async () => {
  await pipeline?.close();
  rmSync(workDir, { recursive: true, force: true });
});

describe('twenty files at once', () => {
  it('all succeed: no audience created twice, no selector twice, no overlapping runs, no early repeat of a 429', async () => {
    const sim = pipeline.simulator!;
    sim.faults.add({ probability: 1 / 3, status: 429, retryAfterSeconds: 1 });
    sim.faults.slow({ probability: 1 / 5, minMs: 2000, maxMs: 5000 });
    sim.faults.concurrentFlowEdit(flowIds[0]!);

    // 14 files of their own audience, and two groups of 3 files refreshing one shared audience each.
    const plainManifest = manifest(path.join(workDir, 'plain.json'));
    const weekly = manifest(path.join(workDir, 'weekly.json'), 'Weekly shared list');
    const churn = manifest(path.join(workDir, 'churn.json'), 'Churn shared list');
    const drops = Array.from({ length: 20 }, (_, i) => {
      const group = i < 3 ? weekly : i < 6 ? churn : plainManifest;
      return { key: `incoming/team${i % 4}/file-${i}.csv`, manifest: group };
    });
    const names = await Promise.all(drops.map((drop) => pipeline.dropFile(smallCsv, drop)));
    const summaries = await Promise.all(names.map((name) => pipeline.waitFor(name)));

    for (const summary of summaries) {
      expect(summary, `${summary.file}: ${summary.error?.message}`).toMatchObject({ status: 'SUCCEEDED' });
    }
    const throttled = sim.calls.filter((c) => c.status === 429);
    expect(throttled.length).toBeGreaterThan(20);

    // 14 own audiences + 2 shared ones, each created once.
    expect(new Set(summaries.map((s) => s.audienceId)).size).toBe(16);
    expect(sim.audiences()).toHaveLength(16);
    expect(duplicateAudiences(sim)).toEqual([]);
    const creates = sim.calls.filter(
      (c) => c.route === 'POST /data/core/ais/external-audience/' && c.status === 202,
    );
    expect(creates).toHaveLength(16);

    // Every audience in both dataflows, once.
    for (const flowId of flowIds) {
      const selectors = sim.flow(flowId)!.selectors;
      for (const summary of summaries) expect(selectors).toContain(summary.audienceId);
    }
    expect(duplicateSelectors(sim, flowIds)).toEqual([]);
    expect(sim.calls.some((c) => c.status === 412)).toBe(true);

    // The three files of a shared audience ran one after the other, and none was refused for a run in progress.
    const shared = summaries.slice(0, 3);
    expect(new Set(shared.map((s) => s.audienceId)).size).toBe(1);
    expect(sim.runs(shared[0]!.audienceId!)).toHaveLength(3);
    expect(overlappingRuns(sim)).toEqual([]);
    expect(sim.calls.filter((c) => c.status === 422)).toEqual([]);

    expect(earlyRepeats(sim.calls)).toEqual([]);
    expect(sim.violations).toEqual([]);
  }, 180_000);
});
