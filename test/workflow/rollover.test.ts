// AEP's 10 ingestion runs per audience with `onAudienceRunLimit: "rollover"`: the file after an audience's last
// run creates `<name> #2`, which takes the old audience's place in every dataflow it was in (the file's and
// those only the old one was added to), with the old selector's export settings; the registry records the chain.
// Two runs per audience here (the simulator and MAX_RUNS_PER_AUDIENCE), so that generations come quickly.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from '../../functions/shared/registry.ts';
import { duplicateAudiences, duplicateSelectors, overlappingRuns } from '../../local/aep-simulator/audit.ts';
import { SIMULATOR_DEFAULT_FLOWS } from '../../local/aep-simulator/index.ts';
import { LocalPipeline } from '../../local/runner/pipeline.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const smallCsv = path.join(ROOT, 'test/fixtures/workflow/customers-small.csv');
const cdkContext = JSON.parse(readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')).context;
const [streaming, batch] = SIMULATOR_DEFAULT_FLOWS.map((f) => f.id) as [string, string];
const flows = [streaming, batch];
const NAME = 'rollover/weekly';
const BATCH = {
  exportMode: 'DAILY_FULL_EXPORT',
  schedule: { frequency: 'DAILY', startDate: '2026-12-01', startTime: '20:00' },
  filenameTemplate: '%DESTINATION_NAME%_%SEGMENT_ID%_%DATETIME(YYYYMMdd_HHmmss)%',
};

let p: LocalPipeline;
let registry: Registry;
let workDir: string;
let manifest: string;

beforeAll(async () => {
  workDir = mkdtempSync(path.join(tmpdir(), 'aep-rollover-'));
  manifest = path.join(workDir, 'weekly.manifest.json');
  writeFileSync(
    manifest,
    JSON.stringify({
      name: NAME,
      destinations: [
        { flowId: streaming, kind: 'streaming' },
        { flowId: batch, kind: 'batch', ...BATCH },
      ],
    }),
  );
  p = await LocalPipeline.start({
    stateDir: path.join(workDir, 'state'),
    ephemeral: true,
    timeScale: 2000,
    simulator: { runsPerAudienceLimit: 2 },
    progress: (line) => {
      if (process.env.DEBUG_ROLLOVER) process.stderr.write(`${line}\n`);
    },
    context: { ...cdkContext, pipeline: { ...cdkContext.pipeline, onAudienceRunLimit: 'rollover' } },
    // The functions' own limit, like the simulator's; the deployed value is AEP's 10.
    functionEnvironment: { MAX_RUNS_PER_AUDIENCE: '2' },
  });
  registry = new Registry({
    client: DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: p.dynamoUrl, region: 'us-east-1' }), {
      marshallOptions: { removeUndefinedValues: true },
    }),
    tableName: p.tableName,
  });
});

afterAll(async () => {
  await p?.close();
  rmSync(workDir, { recursive: true, force: true });
});

/** The chain's audiences each dataflow selects, by name. */
function chainIn(flowId: string): string[] {
  const names = new Map(p.simulator!.audiences().map((a) => [a.audienceId, a.name]));
  return p
    .simulator!.flow(flowId)!
    .selectors.map((id) => names.get(id) ?? id)
    .filter((name) => name.startsWith(NAME));
}

/** The registry as the handlers see it (the pipeline put its table and endpoint in the environment). */
function registryItem(registryKey: string) {
  return registry.get(registryKey);
}

describe('onAudienceRunLimit "rollover"', () => {
  it('the file after the last run creates "<name> #2" and swaps it in for the first in both dataflows', async () => {
    const first = await p.waitFor(await p.dropFile(smallCsv, { key: 'incoming/rollover/a.csv', manifest }));
    const second = await p.waitFor(await p.dropFile(smallCsv, { key: 'incoming/rollover/b.csv', manifest }));
    expect([first.status, second.status]).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    expect(second.audienceId).toBe(first.audienceId);
    expect(chainIn(streaming)).toEqual([NAME]);

    // No manifest: the stack's destinations are none, so both dataflows come from the registry's record.
    const third = await p.waitFor(await p.dropFile(smallCsv, { key: `incoming/${NAME}.csv` }));
    expect(third).toMatchObject({
      status: 'SUCCEEDED',
      audienceName: `${NAME} #2`,
      refreshed: false,
      replaced: { audienceId: first.audienceId, name: NAME },
      destinations: [
        { flowId: streaming, status: 'REPLACED' },
        { flowId: batch, status: 'REPLACED' },
      ],
    });
    expect(third.audienceId).not.toBe(first.audienceId);
    for (const flowId of flows) expect(chainIn(flowId)).toEqual([`${NAME} #2`]);
    const selector = p.simulator!.flow(batch)!.segmentSelectors.find((s) => s.value.id === third.audienceId);
    expect(selector?.value).toMatchObject({ name: `${NAME} #2`, exportMode: BATCH.exportMode });

    const audiences = p.simulator!.audiences().filter((a) => a.name.startsWith(NAME));
    expect(audiences.map((a) => a.name)).toEqual([NAME, `${NAME} #2`]);
    expect(p.simulator!.runs(first.audienceId!)).toHaveLength(2);
    expect(p.simulator!.runs(third.audienceId!)).toHaveLength(1);
    expect(await registryItem(NAME)).toMatchObject({ runCount: 2, rolledOverTo: `${NAME} #2` });
    expect(await registryItem(`${NAME} #2`)).toMatchObject({
      generation: 2,
      chainKey: NAME,
      replaces: [{ registryKey: NAME, audienceId: first.audienceId, name: NAME }],
      flows: { [streaming]: 'streaming', [batch]: 'batch' },
    });
    expect(await p.readJson(third.reports.result!)).toMatchObject({
      audienceName: `${NAME} #2`,
      replaced: { audienceId: first.audienceId, name: NAME },
    });
    const [notice] = p.notifications(third.execution);
    expect(notice?.text).toContain(`Replaces: ${NAME} (${first.audienceId})`);
  });

  it('five files at once: generations #2 to #4 each created once, runs never overlap, each dataflow ends with the last', async () => {
    const names = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        p.dropFile(smallCsv, { key: `incoming/rollover/burst-${i}.csv`, manifest }),
      ),
    );
    const summaries = await Promise.all(names.map((name) => p.waitFor(name)));

    expect(summaries.map((s) => s.status)).toEqual(Array(5).fill('SUCCEEDED'));
    const perGeneration = new Map<string, number>();
    for (const s of summaries)
      perGeneration.set(s.audienceName!, (perGeneration.get(s.audienceName!) ?? 0) + 1);
    // #2 had one run left; #3 and #4 take two each.
    expect(Object.fromEntries(perGeneration)).toEqual({
      [`${NAME} #2`]: 1,
      [`${NAME} #3`]: 2,
      [`${NAME} #4`]: 2,
    });
    const sim = p.simulator!;
    expect(duplicateAudiences(sim)).toEqual([]);
    expect(duplicateSelectors(sim, flows)).toEqual([]);
    expect(overlappingRuns(sim)).toEqual([]);
    expect(sim.violations).toEqual([]);
    for (const flowId of flows) expect(chainIn(flowId)).toEqual([`${NAME} #4`]);
    expect(await registryItem(`${NAME} #3`)).toMatchObject({ runCount: 2, rolledOverTo: `${NAME} #4` });
  });
});
