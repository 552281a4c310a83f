// Ingestion runs of an external audience: start (AEP's three 422s), read, list; stages move on the clock.
import { randomUUID } from 'node:crypto';
import { audienceStatus, type SimContext } from './context.ts';
import {
  aisError,
  badRequest,
  flowError,
  isRecord,
  json,
  parseJson,
  type SimRequest,
  type SimResponse,
  unprocessable,
} from './http.ts';
import type { FlowRunErrorView, RunStage, SimStatus, StoredRun } from './store.ts';

const CREATED_BY = 'sim-technical-account@techacct.adobe.com';

interface StageView {
  stage: RunStage;
  status: SimStatus;
  flowRunId: string;
  errors?: { code: string; message: string }[];
}

function stageStatus(run: StoredRun, stage: RunStage, endsAt: number, now: number): SimStatus {
  if (now < endsAt) return 'PROCESSING';
  return run.failStage === stage ? 'FAILED' : 'SUCCESS';
}

export function runStatus(run: StoredRun, now: number): { status: SimStatus; details: StageView[] } {
  const details: StageView[] = [];
  const stages: RunStage[] = ['DATASET_INGEST', 'PROFILE_STORE_INGEST'];
  for (const [index, stage] of stages.entries()) {
    const status = stageStatus(run, stage, run.stageEnds[index] ?? 0, now);
    details.push({
      stage,
      status,
      flowRunId: run.flowRunIds[index] ?? '',
      ...(status === 'FAILED'
        ? { errors: [{ code: 'INGESTION_FAILED', message: run.failureReason ?? 'failed' }] }
        : {}),
    });
    if (status !== 'SUCCESS') break;
  }
  const last = details[details.length - 1];
  const status: SimStatus =
    last?.status === 'FAILED'
      ? 'FAILED'
      : details.length === 2 && last?.status === 'SUCCESS'
        ? 'SUCCESS'
        : 'PROCESSING';
  return { status, details };
}

/**
 * The errors a failed stage's Flow Service run lists when a test names none: the reason, under a code of the
 * shape the monitoring tutorial's example shows (AdobeDocs/experience-platform.fr-FR
 * help/sources/tutorials/api/monitor.md: INGEST-1212-400 in the data, CONNECTOR-2001-500 at promotion).
 */
function defaultFlowRunErrors(stage: RunStage, reason: string): FlowRunErrorView[] {
  return [{ code: stage === 'DATASET_INGEST' ? 'INGEST-1212-400' : 'CONNECTOR-2001-500', message: reason }];
}

function runView(ctx: SimContext, run: StoredRun): Record<string, unknown> {
  const name = ctx.state.audiences.find((a) => a.audienceId === run.audienceId)?.name;
  const { status, details } = runStatus(run, ctx.clock.nowSec());
  return {
    audienceName: name,
    audienceId: run.audienceId,
    runId: run.runId,
    status,
    differentialIngestion: true,
    dataFilterStartTime: run.dataFilterStartTime,
    ...(run.dataFilterEndTime !== undefined ? { dataFilterEndTime: run.dataFilterEndTime } : {}),
    createdAt: run.createdAt,
    createdBy: CREATED_BY,
    details,
    ...(status === 'FAILED' ? { failureReason: run.failureReason } : {}),
  };
}

/** Epoch seconds; a value above 1e12 is milliseconds (docs/aep.md#where-adobes-docs-disagree, item 5),
 * taken but recorded. */
function epochSeconds(ctx: SimContext, field: string, value: unknown): number | string {
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) return `${field} must be epoch seconds`;
  if (n > 1e12) {
    ctx.violation(`${field}=${n} looks like epoch milliseconds; AEP expects seconds`);
    return Math.floor(n / 1000);
  }
  return Math.floor(n);
}

function utcDay(epochSec: number): string {
  return new Date(epochSec * 1000).toISOString().slice(0, 10);
}

function refusal(ctx: SimContext, audienceId: string): SimResponse | undefined {
  const now = ctx.clock.nowSec();
  const runs = ctx.state.runs.filter((r) => r.audienceId === audienceId);
  const active = runs.find((r) => runStatus(r, now).status === 'PROCESSING');
  if (active) {
    return unprocessable(
      'RUN_IN_PROGRESS',
      `A run is in progress for audience ${audienceId} (run ${active.runId}); start a new one when it has finished`,
    );
  }
  const { runsPerAudienceLimit, dailyRunLimit } = ctx.settings;
  if (runs.length >= runsPerAudienceLimit) {
    return unprocessable(
      'AUDIENCE_RUN_LIMIT_EXCEEDED',
      `The limit of ${runsPerAudienceLimit} ingestion runs per audience is spent for audience ${audienceId}`,
    );
  }
  const today = utcDay(now);
  if (ctx.state.runs.filter((r) => utcDay(r.createdAt) === today).length >= dailyRunLimit) {
    return unprocessable(
      'DAILY_RUN_LIMIT_EXCEEDED',
      `The daily limit of ${dailyRunLimit} ingestion runs per sandbox is spent; try again after 00:00 UTC`,
    );
  }
  return undefined;
}

export async function startRun(ctx: SimContext, req: SimRequest): Promise<SimResponse> {
  const audienceId = req.params[0] ?? '';
  const audience = ctx.state.audiences.find((a) => a.audienceId === audienceId && !a.deleted);
  const status = audience && audienceStatus(audience, ctx.clock.nowSec());
  if (!audience || status === 'FAILED') {
    return aisError(100940, 404, 'NOT_FOUND', `Audience ${audienceId} was not found`);
  }
  if (status === 'PROCESSING') {
    return unprocessable(
      'AUDIENCE_NOT_READY',
      `Audience ${audienceId} is still being created; wait for its operation`,
    );
  }
  const parsed = parseJson(req.rawBody || '{}');
  if (!parsed.ok || !isRecord(parsed.value)) return badRequest('The request body must be a JSON object');
  const start = epochSeconds(ctx, 'dataFilterStartTime', parsed.value.dataFilterStartTime);
  if (typeof start === 'string') return badRequest(start);
  let end: number | undefined;
  if (parsed.value.dataFilterEndTime !== undefined) {
    const value = epochSeconds(ctx, 'dataFilterEndTime', parsed.value.dataFilterEndTime);
    if (typeof value === 'string') return badRequest(value);
    if (value < start) return badRequest('dataFilterEndTime must not be before dataFilterStartTime');
    end = value;
  }
  const refused = refusal(ctx, audienceId);
  if (refused) return refused;
  let failure: Pick<StoredRun, 'failStage' | 'failureReason' | 'flowRunErrors' | 'flowRunUnreadable'> = {};
  if (ctx.settings.sourceFiles) {
    const files = await ctx.settings.sourceFiles(audience.sourcePath, start, end).catch(() => undefined);
    if (files === 0) {
      const reason = `No source file under ${audience.sourcePath} was modified in the run's time window`;
      failure = { failStage: 'DATASET_INGEST', failureReason: reason };
      failure.flowRunErrors = defaultFlowRunErrors('DATASET_INGEST', reason);
    }
  }
  const forced = ctx.faults.pendingRunFailure;
  if (forced && !failure.failStage) {
    ctx.faults.pendingRunFailure = undefined;
    failure = {
      failStage: forced.stage,
      failureReason: forced.reason,
      flowRunErrors: forced.flowRunErrors ?? defaultFlowRunErrors(forced.stage, forced.reason),
      ...(forced.flowRunUnreadable ? { flowRunUnreadable: true } : {}),
    };
  }
  // The source check awaited: a concurrent POST may have started a run meanwhile.
  const refusedNow = refusal(ctx, audienceId);
  if (refusedNow) return refusedNow;
  const now = ctx.clock.nowSec();
  const stageSeconds = ctx.settings.runStageSeconds;
  const run: StoredRun = {
    runId: randomUUID(),
    audienceId,
    dataFilterStartTime: start,
    ...(end !== undefined ? { dataFilterEndTime: end } : {}),
    createdAt: now,
    stageEnds: [now + stageSeconds, now + 2 * stageSeconds],
    ...failure,
    flowRunIds: [randomUUID(), randomUUID()],
  };
  ctx.state.runs.push(run);
  ctx.save();
  const view = runView(ctx, run);
  return json(200, {
    audienceName: view.audienceName,
    audienceId,
    runId: run.runId,
    status: view.status,
    differentialIngestion: true,
    dataFilterStartTime: start,
    ...(end !== undefined ? { dataFilterEndTime: end } : {}),
    createdAt: now,
    createdBy: CREATED_BY,
  });
}

export function getRun(ctx: SimContext, req: SimRequest): SimResponse {
  const [audienceId = '', runId = ''] = req.params;
  const run = ctx.state.runs.find((r) => r.audienceId === audienceId && r.runId === runId);
  if (!run) return aisError(100940, 404, 'NOT_FOUND', `Run ${runId} of audience ${audienceId} was not found`);
  return json(200, runView(ctx, run));
}

export function listRuns(ctx: SimContext, req: SimRequest): SimResponse {
  const audienceId = req.params[0] ?? '';
  const audience = ctx.state.audiences.find((a) => a.audienceId === audienceId && !a.deleted);
  if (!audience) return aisError(100940, 404, 'NOT_FOUND', `Audience ${audienceId} was not found`);
  const runs = ctx.state.runs
    .filter((r) => r.audienceId === audienceId)
    .map((run, index) => ({ run, index }))
    .sort((a, b) => b.run.createdAt - a.run.createdAt || b.index - a.index)
    .map(({ run }) => runView(ctx, run));
  return json(200, { runs });
}

const FLOW_RUN_STATUS: Record<SimStatus, string> = {
  PROCESSING: 'processing',
  SUCCESS: 'success',
  FAILED: 'failed',
};

/**
 * `GET /data/foundation/flowservice/runs/{id}`: the Flow Service run behind a stage of an ingestion run (its
 * `flowRunId`), as a FlowRunsListResponse `{items:[run]}` (AdobeDocs/experience-platform-apis
 * static/swagger-specs/flow-service.yaml, retrieveFlowRun) with the item shape of the monitoring tutorial:
 * `metrics.durationSummary` and `metrics.statusSummary{status, errors[{code, message}]}`, epoch ms, statuses
 * in lower case. A stage not reached yet has no flow run [inferred]: 404, in Flow Service's error shape.
 */
export function getFlowServiceRun(ctx: SimContext, req: SimRequest): SimResponse {
  const id = req.params[0] ?? '';
  const notFound = flowError(
    404,
    `runs not found with id = [${id}]`,
    `No flow run with id ${id} in this sandbox`,
  );
  const run = ctx.state.runs.find((r) => r.flowRunIds.includes(id));
  if (!run) return notFound;
  const index = run.flowRunIds.indexOf(id);
  const stage = runStatus(run, ctx.clock.nowSec()).details[index];
  if (!stage) return notFound;
  const failed = stage.status === 'FAILED';
  if (failed && run.flowRunUnreadable) return notFound;
  const startedSec = index === 0 ? run.createdAt : (run.stageEnds[0] ?? run.createdAt);
  const endedSec = run.stageEnds[index] ?? startedSec;
  const done = stage.status !== 'PROCESSING';
  const name = ctx.state.audiences.find((a) => a.audienceId === run.audienceId)?.name;
  return json(200, {
    items: [
      {
        id,
        flowId: `sim-external-audience-${stage.stage.toLowerCase()}-${run.audienceId}`,
        createdAt: startedSec * 1000,
        updatedAt: (done ? endedSec : ctx.clock.nowSec()) * 1000,
        sandboxName: ctx.settings.sandboxName,
        ...(name ? { name: `${name} ${stage.stage}` } : {}),
        metrics: {
          durationSummary: {
            startedAtUTC: startedSec * 1000,
            ...(done ? { completedAtUTC: endedSec * 1000 } : {}),
          },
          statusSummary: {
            status: FLOW_RUN_STATUS[stage.status],
            ...(failed ? { errors: run.flowRunErrors ?? [] } : {}),
          },
        },
        activities: [],
      },
    ],
  });
}
