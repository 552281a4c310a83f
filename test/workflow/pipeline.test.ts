// Workflow tests: the synthesized state machine run locally with the real handlers, embedded S3, dynalite
// and the AEP simulator; one case per path of
// docs/architecture.md#state-machine.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SIMULATOR_DEFAULT_FLOWS } from '../../local/aep-simulator/index.ts';
import { LocalPipeline } from '../../local/runner/pipeline.ts';

const fixtures = path.resolve(import.meta.dirname, '../fixtures/workflow');
const smallCsv = path.join(fixtures, 'customers-small.csv');
const badCsv = path.join(fixtures, 'bad-email.csv');

let workDir: string;
let pipeline: LocalPipeline;
let manifestPath: string;
let uploads = 0;

/** A fresh key per test, so each test creates its own audience unless it means to refresh one. */
function uniqueKey(name = 'customers'): string {
  uploads += 1;
  return `incoming/workflow/${name}-${uploads}.csv`;
}

async function keys(prefix: string): Promise<string[]> {
  const listed = await pipeline.s3.send(
    new ListObjectsV2Command({ Bucket: pipeline.bucket, Prefix: prefix }),
  );
  return (listed.Contents ?? []).map((o) => o.Key!);
}

async function exists(key: string): Promise<boolean> {
  try {
    await pipeline.s3.send(new HeadObjectCommand({ Bucket: pipeline.bucket, Key: key }));
    return true;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  workDir = mkdtempSync(path.join(tmpdir(), 'aep-workflow-'));
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
});

afterAll(async () => {
  await pipeline?.close();
  rmSync(workDir, { recursive: true, force: true });
});

beforeEach(() => {
  pipeline.simulator!.faults.clear();
});

describe('the synthesized state machine, run locally', () => {
  it('happy path: validates, creates, ingests, activates both destinations, archives', async () => {
    const key = uniqueKey();
    const name = await pipeline.dropFile(smallCsv, { key, manifest: manifestPath });
    const summary = await pipeline.waitFor(name);

    expect(summary.error).toBeUndefined();
    expect(summary.status).toBe('SUCCEEDED');
    expect(summary.refreshed).toBe(false);
    expect(summary.audienceId).toMatch(/.+/);
    expect(summary.runId).toMatch(/.+/);
    expect(summary.validation).toMatchObject({ valid: true, rows: 40, invalidRows: 0 });
    expect(summary.destinations.map((d) => d.status)).toEqual(['ADDED', 'ADDED']);
    expect(await exists(key)).toBe(false);
    const base = key.split('/').pop()!.replace('.csv', '');
    expect(await keys(`processed/workflow/${name}/`)).toEqual([
      `processed/workflow/${name}/${base}.csv`,
      `processed/workflow/${name}/${base}.manifest.json`,
    ]);
    expect(await exists(`reports/${name}/result.json`)).toBe(true);
    expect(await exists(`reports/${name}/validation.json`)).toBe(true);
    const audiences = pipeline.simulator!.audiences().filter((a) => a.audienceId === summary.audienceId);
    expect(audiences).toHaveLength(1);
    const [notified, ...more] = pipeline.notifications(name);
    expect(more).toEqual([]);
    expect(notified?.attributes).toEqual({ outcome: 'SUCCEEDED', folder: 'workflow' });
    expect(notified?.document).toMatchObject({
      outcome: 'SUCCEEDED',
      file: key,
      execution: name,
      audienceId: summary.audienceId,
      rows: 40,
      invalidRows: 0,
      reports: `s3://${pipeline.bucket}/reports/${name}/`,
    });
    expect(notified?.text).toContain("exports follow AEP's daily segmentation job");
    for (const flow of SIMULATOR_DEFAULT_FLOWS) {
      const selectors = pipeline
        .simulator!.flow(flow.id)!
        .selectors.filter((id) => id === summary.audienceId);
      expect(selectors).toHaveLength(1);
    }
  });

  it('refresh: a second upload of the same key starts a new run on the same audience', async () => {
    const key = uniqueKey('refresh');
    const first = await pipeline.waitFor(await pipeline.dropFile(smallCsv, { key, manifest: manifestPath }));
    const second = await pipeline.waitFor(await pipeline.dropFile(smallCsv, { key, manifest: manifestPath }));

    expect(first.status).toBe('SUCCEEDED');
    expect(second.status).toBe('SUCCEEDED');
    expect(second.execution).not.toBe(first.execution);
    expect(second.refreshed).toBe(true);
    expect(second.audienceId).toBe(first.audienceId);
    expect(second.runId).not.toBe(first.runId);
    expect(second.destinations.map((d) => d.status)).toEqual(['ALREADY_PRESENT', 'ALREADY_PRESENT']);
    expect(pipeline.simulator!.runs(first.audienceId!)).toHaveLength(2);
  });

  it('validation rejected: the original goes to failed/ with error.json, nothing reaches AEP', async () => {
    const callsBefore = pipeline.simulator!.calls.length;
    const key = uniqueKey('bad');
    const summary = await pipeline.waitFor(await pipeline.dropFile(badCsv, { key }));

    expect(summary.status).toBe('FAILED');
    expect(summary.error?.code).toBe('VALIDATION_FAILED');
    expect(summary.error?.message).toMatch(/row 1, column "email"/);
    expect(summary.error?.message).not.toContain('not-an-email');
    expect(await exists(key)).toBe(false);
    expect(await keys(`failed/workflow/${summary.execution}/`)).toHaveLength(1);
    expect(await pipeline.readJson(`reports/${summary.execution}/error.json`)).toMatchObject({
      code: 'VALIDATION_FAILED',
    });
    expect(pipeline.simulator!.calls.length).toBe(callsBefore);
    const notified = pipeline.notifications(summary.execution);
    expect(notified.map((n) => n.document.outcome)).toEqual(['FAILED']);
    expect(notified[0]?.document.code).toBe('VALIDATION_FAILED');
    expect(notified[0]?.text).toMatch(/row 1, column "email"/);
    expect(JSON.stringify(notified)).not.toContain('not-an-email');
  });

  it('operation FAILED: caught, AEP_OPERATION_FAILED, original in failed/', async () => {
    pipeline.simulator!.faults.failNextOperation('the source path could not be read');
    const key = uniqueKey('opfail');
    const summary = await pipeline.waitFor(
      await pipeline.dropFile(smallCsv, { key, manifest: manifestPath }),
    );

    expect(summary.status).toBe('FAILED');
    expect(summary.error?.code).toBe('AEP_OPERATION_FAILED');
    expect(summary.error?.message).toMatch(/source path could not be read/);
    expect(await keys(`failed/workflow/${summary.execution}/`)).toContain(
      `failed/workflow/${summary.execution}/${key.split('/').pop()}`,
    );
  });

  it("run FAILED: caught, AEP_RUN_FAILED naming the stage and its flow run's reasons, masked, in error.json, the notification and the Cause", async () => {
    pipeline.simulator!.faults.failNextRun('PROFILE_STORE_INGEST', 'profile store rejected the batch', {
      flowRunErrors: [
        { code: 'CONNECTOR-2001-500', message: 'Error occurred at promotion activity.' },
        { code: 'MAPPER-3700-400', message: 'Mapper Transform Error: "ann.lee@example.com" has no identity' },
      ],
    });
    const key = uniqueKey('runfail');
    const summary = await pipeline.waitFor(
      await pipeline.dropFile(smallCsv, { key, manifest: manifestPath }),
    );

    expect(summary.status).toBe('FAILED');
    expect(summary.error?.code).toBe('AEP_RUN_FAILED');
    const run = pipeline.simulator!.runs(summary.audienceId!).find((r) => r.runId === summary.runId);
    const flowRunId = run!.flowRunIds[1];
    const reasons =
      `PROFILE_STORE_INGEST: profile store rejected the batch. Flow run ${flowRunId}: ` +
      'CONNECTOR-2001-500: Error occurred at promotion activity.; ' +
      'MAPPER-3700-400: Mapper Transform Error: "a***@e***" has no identity.';
    const report = await pipeline.readJson(`reports/${summary.execution}/error.json`);
    expect(report).toMatchObject({ code: 'AEP_RUN_FAILED', stage: 'CheckIngestion' });
    expect(report.message).toContain(reasons);
    const [notified, ...more] = pipeline.notifications(summary.execution);
    expect(more).toEqual([]);
    expect(notified?.document).toMatchObject({ outcome: 'FAILED', code: 'AEP_RUN_FAILED' });
    expect(notified?.document.message).toContain(reasons);
    expect(notified?.text).toContain(reasons);
    const execution = pipeline.sfn.get(summary.execution)!;
    expect(execution.error).toBe('AEP_RUN_FAILED');
    expect(execution.cause).toContain(reasons);
    const everything = JSON.stringify([report, notified, execution.cause]);
    expect(everything).not.toContain('ann.lee@example.com');
  });

  it('run FAILED with a flow run that cannot be read: the stage reported, and a note says so', async () => {
    pipeline.simulator!.faults.failNextRun('DATASET_INGEST', 'the dataset batch failed', {
      flowRunUnreadable: true,
    });
    const key = uniqueKey('runfail-hidden');
    const summary = await pipeline.waitFor(
      await pipeline.dropFile(smallCsv, { key, manifest: manifestPath }),
    );

    expect(summary.status).toBe('FAILED');
    expect(summary.error?.code).toBe('AEP_RUN_FAILED');
    const run = pipeline.simulator!.runs(summary.audienceId!).find((r) => r.runId === summary.runId);
    const report = await pipeline.readJson(`reports/${summary.execution}/error.json`);
    expect(report.message).toContain('failed at stage DATASET_INGEST: the dataset batch failed.');
    expect(report.message).toContain(
      `The details of flow run ${run!.flowRunIds[0]} could not be read (AEP GET /data/foundation/flowservice/runs/{runId} answered 404`,
    );
    expect(pipeline.notifications(summary.execution)[0]?.document.message).toBe(report.message);
  });

  it('AEP down past all retries: not caught, the original stays in incoming/, error.json says redrive', async () => {
    pipeline.simulator!.faults.add({
      route: 'POST /data/core/ais/external-audience/',
      status: 503,
      times: 1000,
    });
    const key = uniqueKey('outage');
    const summary = await pipeline.waitFor(
      await pipeline.dropFile(smallCsv, { key, manifest: manifestPath }),
    );

    expect(summary.status).toBe('FAILED');
    expect(summary.error?.code).toBe('AEP_UNAVAILABLE');
    expect(await exists(key)).toBe(true);
    const report = await pipeline.readJson(`reports/${summary.execution}/error.json`);
    expect(report).toMatchObject({ code: 'AEP_UNAVAILABLE', redrivable: true });
    // Published by record-execution-failure, HandleFailure never ran.
    const notified = pipeline.notifications(summary.execution);
    expect(notified.map((n) => [n.document.outcome, n.document.code])).toEqual([
      ['FAILED', 'AEP_UNAVAILABLE'],
    ]);
    expect(notified[0]?.document.consoleUrl).toContain(`#/v2/executions/details/${summary.executionArn}`);
    const execution = pipeline.sfn.get(summary.execution)!;
    const retries = execution.history.filter(
      (e) => e.type === 'StateRetried' && e.stateName === 'CreateAudience',
    );
    expect(retries.length).toBeGreaterThanOrEqual(3);
    expect(execution.history.some((e) => e.type === 'StateCaught')).toBe(false);
  });

  it('412 on activation: a dataflow edited by someone else between GET and PATCH still gets the audience once', async () => {
    const [streaming] = SIMULATOR_DEFAULT_FLOWS;
    pipeline.simulator!.faults.concurrentFlowEdit(streaming!.id);
    const key = uniqueKey('conflict');
    const summary = await pipeline.waitFor(
      await pipeline.dropFile(smallCsv, { key, manifest: manifestPath }),
    );

    expect(summary.status).toBe('SUCCEEDED');
    const patches = pipeline.simulator!.calls.filter(
      (c) => c.route === 'PATCH /data/foundation/flowservice/flows/{id}' && c.path.endsWith(streaming!.id),
    );
    expect(patches.some((c) => c.status === 412)).toBe(true);
    const selectors = pipeline
      .simulator!.flow(streaming!.id)!
      .selectors.filter((id) => id === summary.audienceId);
    expect(selectors).toHaveLength(1);
  });

  it("AEP's 10 runs per audience: the 11th file fails early with AEP_AUDIENCE_RUN_LIMIT, without calling AEP", async () => {
    const key = uniqueKey('limit');
    for (let run = 1; run <= 10; run++) {
      const summary = await pipeline.waitFor(await pipeline.dropFile(smallCsv, { key }));
      expect(summary.status).toBe('SUCCEEDED');
    }
    const runsBefore = pipeline.simulator!.calls.filter(
      (c) => c.route.endsWith('/runs') && c.method === 'POST',
    ).length;
    const eleventh = await pipeline.waitFor(await pipeline.dropFile(smallCsv, { key }));

    expect(eleventh.status).toBe('FAILED');
    expect(eleventh.error?.code).toBe('AEP_AUDIENCE_RUN_LIMIT');
    expect(eleventh.error?.message).toMatch(/10 ingestion runs/);
    const runsAfter = pipeline.simulator!.calls.filter(
      (c) => c.route.endsWith('/runs') && c.method === 'POST',
    ).length;
    expect(runsAfter).toBe(runsBefore);
  });

  it('keys with spaces, plus signs and non-ASCII survive the event encoding', async () => {
    const key = `incoming/workflow/Spring list + Ünïcode ${uploads}.csv`;
    uploads += 1;
    const summary = await pipeline.waitFor(await pipeline.dropFile(smallCsv, { key }));

    expect(summary.status).toBe('SUCCEEDED');
    expect(summary.file).toBe(key);
    expect(await exists(key)).toBe(false);
  });
});
