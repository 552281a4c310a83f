// Redrive after an outage at each Task (docs/architecture.md#failures-caught-or-redriven): the execution fails
// at that task with the original still in incoming/, `aep-audience redrive` resumes it there through the Step
// Functions API, and because every task is idempotent the file ends with exactly one audience, one ingestion
// run and one selector per dataflow.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FaultRule } from '../../local/aep-simulator/index.ts';
import { SIMULATOR_DEFAULT_FLOWS } from '../../local/aep-simulator/index.ts';
import { redriveExecution } from '../../local/ops/redrive.ts';
import { executionStory } from '../../local/ops/show.ts';
import type { PipelineStackOutputs } from '../../local/ops/stack.ts';
import { LocalPipeline } from '../../local/runner/pipeline.ts';

const fixtures = path.resolve(import.meta.dirname, '../fixtures/workflow');
const smallCsv = path.join(fixtures, 'customers-small.csv');
const badCsv = path.join(fixtures, 'bad-email.csv');

const AIS = '/data/core/ais/external-audience';

/**
 * How each Task is made to fail past all its retries. AEP tasks: the simulator answers 503 on the route only that
 * task calls; on writes the request is applied first (an ambiguous failure), so the redrive must find what the
 * failed attempts created. S3 tasks: the handler fails as it would once the SDK's own retries on S3 5xx are spent.
 */
const OUTAGES: { state: string; aep?: FaultRule[]; s3Handler?: string; code: string }[] = [
  { state: 'ValidateFile', s3Handler: 'validate-file', code: 'ServiceUnavailable' },
  {
    state: 'CreateAudience',
    aep: [{ route: `POST ${AIS}/`, status: 503, applyBeforeFailing: true }],
    code: 'AEP_UNAVAILABLE',
  },
  {
    state: 'CheckAudience',
    aep: [{ route: `GET ${AIS}/operations/{id}`, status: 503 }],
    code: 'AEP_UNAVAILABLE',
  },
  {
    state: 'StartIngestion',
    aep: [
      { route: `POST ${AIS}/{id}/runs`, status: 503, applyBeforeFailing: true },
      { route: `GET ${AIS}/{id}/runs`, status: 503 },
    ],
    code: 'AEP_UNAVAILABLE',
  },
  {
    state: 'CheckIngestion',
    aep: [{ route: `GET ${AIS}/{id}/runs/{id}`, status: 502 }],
    code: 'AEP_UNAVAILABLE',
  },
  {
    state: 'ActivateDestinations',
    aep: [{ route: 'PATCH /data/foundation/flowservice/flows/{id}', status: 503 }],
    code: 'AEP_UNAVAILABLE',
  },
  { state: 'ArchiveFile', s3Handler: 'archive-file', code: 'ServiceUnavailable' },
];

let workDir: string;
let pipeline: LocalPipeline;
let sfn: SFNClient;
let stack: PipelineStackOutputs;
let manifestPath: string;
/** The handler folder whose Lambda currently fails with an S3 outage. */
let s3Outage: string | undefined;

async function inIncoming(key: string): Promise<boolean> {
  try {
    await pipeline.s3.send(new HeadObjectCommand({ Bucket: pipeline.bucket, Key: key }));
    return true;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  workDir = mkdtempSync(path.join(tmpdir(), 'aep-redrive-'));
  manifestPath = path.join(workDir, 'manifest.json');
  const [streaming, batch] = SIMULATOR_DEFAULT_FLOWS.map((f) => f.id);
  writeFileSync(
    manifestPath,
    JSON.stringify({
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
  pipeline = await LocalPipeline.start({
    stateDir: path.join(workDir, 'state'),
    ephemeral: true,
    timeScale: 2000,
  });
  // The S3 outage stand-in: the Lambda fails as the SDK does once its own retries on S3 5xx are spent.
  const invoke = pipeline.invoke.bind(pipeline);
  pipeline.invoke = async (fn, payload) => {
    if (s3Outage && fn.handlerFile.includes(`/${s3Outage}/`)) {
      const error = new Error(
        JSON.stringify({
          errorType: 'ServiceUnavailable',
          errorMessage: 'Service Unavailable (simulated S3 outage)',
        }),
      );
      error.name = 'ServiceUnavailable';
      throw error;
    }
    return invoke(fn, payload);
  };
  // The operator command's view: the local runner's Step Functions API, as the deployed stack's would be.
  sfn = new SFNClient({ endpoint: pipeline.sfnUrl, region: 'us-east-1' });
  stack = { stackName: 'local', bucketName: pipeline.bucket, stateMachineArn: pipeline.sfn.stateMachineArn };
});

afterAll(async () => {
  sfn?.destroy();
  await pipeline?.close();
  rmSync(workDir, { recursive: true, force: true });
});

beforeEach(() => {
  pipeline.simulator!.faults.clear();
  s3Outage = undefined;
});

describe('redrive after an outage, at each task', () => {
  for (const outage of OUTAGES) {
    it(`${outage.state}: fails there uncaught, redrives there, and creates nothing twice`, async () => {
      const sim = pipeline.simulator!;
      for (const rule of outage.aep ?? []) sim.faults.add(rule);
      s3Outage = outage.s3Handler;
      const key = `incoming/redrive/${outage.state}.csv`;
      const name = await pipeline.dropFile(smallCsv, { key, manifest: manifestPath });
      const failed = await pipeline.waitFor(name);

      expect(failed.status).toBe('FAILED');
      const execution = pipeline.sfn.get(name)!;
      expect(execution.error).toBe(outage.code);
      const lastEntered = execution.history.findLast((e) => e.type === 'StateEntered');
      expect(lastEntered?.stateName).toBe(outage.state);
      expect(execution.history.some((e) => e.stateName === 'HandleFailure')).toBe(false);
      expect(await inIncoming(key)).toBe(true);
      expect(await pipeline.readJson(`reports/${name}/error.json`)).toMatchObject({ code: outage.code });

      if (outage.state === 'CreateAudience' || outage.state === 'StartIngestion') {
        // The failed attempts did reach AEP: the redrive has something to find rather than create again.
        const created = sim.audiences().filter((a) => a.name === `redrive/${outage.state}`);
        expect(created).toHaveLength(1);
        if (outage.state === 'StartIngestion') expect(sim.runs(created[0]!.audienceId)).toHaveLength(1);
      }

      sim.faults.clear();
      s3Outage = undefined;
      const outcome = await redriveExecution(sfn, stack, name);
      expect(outcome).toMatchObject({ redriven: true, resumesAt: outage.state, redriveCount: 1 });
      const summary = await pipeline.waitFor(name);

      expect(summary.error).toBeUndefined();
      expect(summary.status).toBe('SUCCEEDED');
      expect(await inIncoming(key)).toBe(false);
      // One report per outcome: the failed attempt's error.json is gone, result.json is there.
      expect(await pipeline.readJson(`reports/${name}/error.json`)).toBeUndefined();
      // The states before the failed one ran once: the redrive resumed, it did not start over.
      const validations = execution.history.filter(
        (e) => e.type === 'StateEntered' && e.stateName === 'ValidateFile',
      );
      expect(validations).toHaveLength(outage.state === 'ValidateFile' ? 2 : 1);
      expect(execution.history.filter((e) => e.type === 'ExecutionRedriven')).toHaveLength(1);
      // One audience of that name, one run of it, one selector per dataflow.
      const audiences = sim.audiences().filter((a) => a.name === `redrive/${outage.state}`);
      expect(audiences).toHaveLength(1);
      expect(audiences[0]!.audienceId).toBe(summary.audienceId);
      expect(sim.runs(summary.audienceId!)).toHaveLength(1);
      for (const flow of SIMULATOR_DEFAULT_FLOWS) {
        expect(sim.flow(flow.id)!.selectors.filter((id) => id === summary.audienceId)).toHaveLength(1);
      }

      // `show` reads the same story back: the redrive resumed at the failed task, and the result is there.
      const story = await executionStory({ sfn, s3: pipeline.s3 }, stack, name);
      expect(story.facts).toMatchObject({ status: 'SUCCEEDED', stage: 'Succeeded', redriveCount: 1 });
      expect(story.stages.find((s) => s.redriven === 1)?.state).toBe(outage.state);
      expect(story.reports.result).toMatchObject({ audienceId: summary.audienceId, refreshed: false });
    });
  }

  it('refuses to redrive an execution the file made fail, and says to upload a fixed file', async () => {
    const name = await pipeline.dropFile(badCsv, { key: 'incoming/redrive/bad.csv' });
    expect((await pipeline.waitFor(name)).status).toBe('FAILED');

    const outcome = await redriveExecution(sfn, stack, name);

    expect(outcome.redriven).toBe(false);
    expect(outcome.reason).toMatch(/because of the file \(VALIDATION_FAILED at ValidateFile/);
    expect(outcome.reason).toMatch(/upload it again under incoming\//);
    expect(pipeline.sfn.get(name)!.redriveCount).toBe(0);
  });
});
