// The daily run guardrail: a budget of ingestion runs per sandbox and UTC day, taken before each run. When it
// is spent a file fails with AEP_DAILY_RUN_LIMIT (onDailyRunLimit "fail") or waits for the next UTC day in the
// WaitForRunSlot state (onDailyRunLimit "wait"), and AEP never sees the run it would refuse.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalPipeline } from '../../local/runner/pipeline.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const smallCsv = path.join(ROOT, 'test/fixtures/workflow/customers-small.csv');
const cdkContext = JSON.parse(readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')).context;

let p: LocalPipeline;

// One pipeline for the file. 100,000×: a day's wait takes under a second here. The second case changes
// ON_DAILY_RUN_LIMIT in the functions' configuration, as a redeploy with another setting would.
beforeAll(async () => {
  p = await LocalPipeline.start({
    stateDir: path.join(ROOT, '.local', 'test-daily-budget'),
    ephemeral: true,
    timeScale: 100_000,
    progress: (line) => process.env.DEBUG_BUDGET && process.stderr.write(`${line}\n`),
    context: {
      ...cdkContext,
      pipeline: { ...cdkContext.pipeline, dailyRunBudget: 2, onDailyRunLimit: 'fail' },
    },
  });
});

afterAll(async () => {
  await p?.close();
});

const runPosts = (p: LocalPipeline) =>
  // Accepted ones: at 100,000× an IMS token lives under a second, so a warm environment's first POST may meet
  // a 401 and be sent again with a new token, which starts no second run.
  p.simulator!.calls.filter(
    (c) => c.route === 'POST /data/core/ais/external-audience/{id}/runs' && c.status === 200,
  );

describe('daily run budget', () => {
  it('"fail": the file past the budget fails with AEP_DAILY_RUN_LIMIT before AEP is asked', async () => {
    for (const key of ['incoming/budget/a.csv', 'incoming/budget/b.csv']) {
      expect((await p.waitFor(await p.dropFile(smallCsv, { key }))).status).toBe('SUCCEEDED');
    }
    const third = await p.waitFor(await p.dropFile(smallCsv, { key: 'incoming/budget/c.csv' }));
    expect(third).toMatchObject({ status: 'FAILED', error: { code: 'AEP_DAILY_RUN_LIMIT' } });
    expect(third.error!.message).toContain('daily budget of 2 ingestion runs');
    expect(third.error!.message).toContain('after 00:00 UTC');
    expect(runPosts(p)).toHaveLength(2);
    // A wrong-time file, not an outage: caught, the original in failed/.
    expect(await p.readJson(`reports/${third.execution}/error.json`)).toMatchObject({
      code: 'AEP_DAILY_RUN_LIMIT',
    });
  });

  it('"wait": the file past the budget waits in WaitForRunSlot until the next UTC day', async () => {
    // Today's 2 runs went to the files of the test above. After its wait the file asks again and, the real
    // day not having turned, waits again: it stays RUNNING.
    p.updateFunctionEnvironment({ ON_DAILY_RUN_LIMIT: 'wait' });
    const name = await p.dropFile(smallCsv, { key: 'incoming/budget/d.csv' });
    const execution = p.sfn.get(name)!;
    const deadline = Date.now() + 20_000;
    const waits = () =>
      execution.history.filter((e) => e.type === 'LocalWaitScaled' && e.stateName === 'WaitForRunSlot');
    while (waits().length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(execution.status).toBe('RUNNING');
    const [first] = waits();
    const now = new Date();
    const toMidnight =
      (Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1) - now.getTime()) / 1000;
    // Until a minute into the next UTC day, as StartIngestion computed it.
    expect(first!.waitSeconds).toBeGreaterThan(toMidnight);
    expect(first!.waitSeconds).toBeLessThanOrEqual(toMidnight + 61 + 20);
    const asked = execution.history.find((e) => e.type === 'StateExited' && e.stateName === 'StartIngestion');
    expect(JSON.stringify(asked?.output)).toContain(
      "the next UTC day: today's budget of 2 ingestion runs is spent",
    );
    expect(runPosts(p)).toHaveLength(2);
  });
});
