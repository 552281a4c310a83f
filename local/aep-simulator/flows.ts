// Flow Service destination dataflows: GET with a quoted etag, JSON-Patch PATCH guarded by If-Match, /runs.
import { randomUUID } from 'node:crypto';
import { findCreatedAudience, type SimContext } from './context.ts';
import { flowError, header, isRecord, json, parseJson, type SimRequest, type SimResponse } from './http.ts';
import type { StoredFlow } from './store.ts';

const SELECTORS_PATH = '/transformations/0/params/segmentSelectors/selectors';
const FLOW_SPEC_ID = '71471eba-b620-49e4-90fd-23f1fa0174d8';

type Selector = StoredFlow['selectors'][number];

export const newEtag = () => `"${randomUUID()}"`;

function flowNotFound(id: string): SimResponse {
  return flowError(404, `flows not found with id = [${id}]`, `No dataflow with id ${id} in this sandbox`);
}

function flowView(flow: StoredFlow): Record<string, unknown> {
  return {
    id: flow.id,
    name: flow.name,
    description: `${flow.kind} destination dataflow (simulated)`,
    flowSpec: { id: FLOW_SPEC_ID, version: '1.0' },
    state: 'enabled',
    version: flow.etag,
    etag: flow.etag,
    sourceConnectionIds: [`${flow.id}-source`],
    targetConnectionIds: [`${flow.id}-target`],
    inheritedAttributes: { properties: { isSourceFlow: false, destinationKind: flow.kind } },
    transformations: [
      {
        name: 'GeneralTransform',
        params: { profileSelectors: { selectors: [] }, segmentSelectors: { selectors: flow.selectors } },
      },
    ],
    createdAt: flow.updatedAt,
    updatedAt: flow.updatedAt,
  };
}

export function getFlow(ctx: SimContext, req: SimRequest): SimResponse {
  const id = req.params[0] ?? '';
  const flow = ctx.state.flows.find((f) => f.id === id);
  if (!flow) return flowNotFound(id);
  const response = json(200, { items: [structuredClone(flowView(flow))] });
  if (ctx.faults.pendingFlowEdits.delete(id)) {
    // "Someone else" edits the dataflow right after this read, so a PATCH with this etag meets a 412.
    flow.selectors.push({
      type: 'PLATFORM_SEGMENT',
      value: { id: `other-team-${randomUUID()}`, name: 'Added by someone else' },
    });
    flow.etag = newEtag();
    flow.updatedAt = ctx.clock.nowMs();
    ctx.save();
  }
  return response;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
/**
 * Settings of file-based exports; a streaming selector takes only {id, name?, description?}, plus the
 * extras of docs/aep.md#where-adobes-docs-disagree, item 10.
 */
const BATCH_ONLY_KEYS = ['filenameTemplate', 'exportMode', 'schedule'];

const FREQUENCIES: Record<string, string[]> = {
  DAILY_FULL_EXPORT: ['ONCE', 'DAILY'],
  FIRST_FULL_THEN_INCREMENTAL: ['DAILY', 'EVERY_3_HOURS', 'EVERY_6_HOURS', 'EVERY_8_HOURS', 'EVERY_12_HOURS'],
};

function validDate(value: unknown): value is string {
  // Date.parse rolls 2026-02-31 over to March; a real calendar date survives the round trip.
  if (typeof value !== 'string' || !DATE.test(value)) return false;
  const parsed = Date.parse(`${value}T00:00:00Z`);
  return !Number.isNaN(parsed) && new Date(parsed).toISOString().startsWith(value);
}

/**
 * File-based destination rules of docs/aep.md#activation, kept apart from the pipeline's own copy
 * (functions/shared/aep/batch-export.ts) so that the simulator stays an independent check of what the client
 * sends; returns what is wrong, if anything.
 */
function batchProblem(ctx: SimContext, value: Record<string, unknown>): string | undefined {
  const template = value.filenameTemplate;
  if (
    typeof template !== 'string' ||
    !template.includes('%DESTINATION_NAME%') ||
    !template.includes('%SEGMENT_ID%')
  ) {
    return 'filenameTemplate must contain %DESTINATION_NAME% and %SEGMENT_ID%';
  }
  const mode = value.exportMode;
  const allowed = typeof mode === 'string' ? FREQUENCIES[mode] : undefined;
  if (!allowed) return 'exportMode must be DAILY_FULL_EXPORT or FIRST_FULL_THEN_INCREMENTAL';
  const schedule = value.schedule;
  if (!isRecord(schedule)) return 'schedule is required for a file-based destination';
  if (typeof schedule.frequency !== 'string' || !allowed.includes(schedule.frequency)) {
    return `schedule.frequency must be one of ${allowed.join('|')} with exportMode ${mode}`;
  }
  const trigger = schedule.triggerType ?? 'SCHEDULED';
  if (mode === 'FIRST_FULL_THEN_INCREMENTAL' && trigger !== 'SCHEDULED') {
    return 'schedule.triggerType applies to DAILY_FULL_EXPORT only';
  }
  if (mode === 'FIRST_FULL_THEN_INCREMENTAL' && schedule.triggerType !== undefined) {
    // The docs give triggerType for DAILY_FULL_EXPORT only; what AEP does with one here is not documented.
    ctx.violation(`schedule.triggerType ${String(schedule.triggerType)} sent with ${mode}`);
  }
  if (trigger !== 'SCHEDULED' && trigger !== 'AFTER_SEGMENT_EVAL') {
    return 'schedule.triggerType must be SCHEDULED or AFTER_SEGMENT_EVAL';
  }
  if (trigger === 'SCHEDULED') {
    if (typeof schedule.startTime !== 'string' || !/^([01]\d|2[0-3]):00$/.test(schedule.startTime)) {
      return 'schedule.startTime must be HH:00 (UTC, whole hours)';
    }
  } else if (schedule.startTime !== undefined) {
    return 'schedule.startTime must be omitted with triggerType AFTER_SEGMENT_EVAL';
  }
  if (!validDate(schedule.startDate)) return 'schedule.startDate must be YYYY-MM-DD';
  if (schedule.endDate !== undefined) {
    if (mode === 'DAILY_FULL_EXPORT' && schedule.frequency === 'ONCE') {
      return 'schedule.endDate is not allowed with a ONCE export';
    }
    if (!validDate(schedule.endDate) || schedule.endDate < schedule.startDate) {
      return 'schedule.endDate must be YYYY-MM-DD, not before startDate';
    }
  }
  return undefined;
}

function selectorProblem(ctx: SimContext, flow: StoredFlow, selector: unknown): string | undefined {
  if (!isRecord(selector) || selector.type !== 'PLATFORM_SEGMENT' || !isRecord(selector.value)) {
    return 'a segment selector must be {type: "PLATFORM_SEGMENT", value: {id, ...}}';
  }
  const id = selector.value.id;
  if (typeof id !== 'string' || !findCreatedAudience(ctx, id))
    return `selector value.id ${String(id)} is not a known audience`;
  if (flow.kind === 'batch') return batchProblem(ctx, selector.value);
  const batchOnly = BATCH_ONLY_KEYS.find((key) => key in (selector.value as Record<string, unknown>));
  return batchOnly ? `${batchOnly} is not accepted by a streaming destination` : undefined;
}

const badPatch = (message: string) => flowError(400, message, message);

export function patchFlow(ctx: SimContext, req: SimRequest): SimResponse {
  const id = req.params[0] ?? '';
  const flow = ctx.state.flows.find((f) => f.id === id);
  if (!flow) return flowNotFound(id);
  const ifMatch = header(req, 'if-match');
  const mismatch = () =>
    flowError(
      412,
      `Supplied version=[${ifMatch ?? ''}] does not match the current version on entity=[${flow.etag}]`,
      'Re-read the dataflow and apply the change to its current version',
    );
  if (!ifMatch) return mismatch();
  if (!/^".*"$/.test(ifMatch)) {
    ctx.violation(`PATCH flows/${id}: If-Match ${ifMatch} is not wrapped in double quotes`);
    return mismatch();
  }
  if (ifMatch !== flow.etag) return mismatch();
  const parsed = parseJson(req.rawBody);
  if (!parsed.ok || !Array.isArray(parsed.value)) return badPatch('The body must be a JSON-Patch array');
  const selectors: Selector[] = structuredClone(flow.selectors);
  for (const op of parsed.value) {
    if (!isRecord(op) || typeof op.op !== 'string' || typeof op.path !== 'string') {
      return badPatch('Each operation needs op and path');
    }
    const { path } = op;
    if (
      path.startsWith('/transformations/0/params/profileSelectors/') ||
      path === '/name' ||
      path === '/description'
    ) {
      continue;
    }
    if (!path.startsWith(`${SELECTORS_PATH}/`)) return badPatch(`Unsupported path ${path}`);
    const where = path.slice(SELECTORS_PATH.length + 1);
    const index = where === '-' ? selectors.length : Number(where);
    if (!Number.isInteger(index) || index < 0) return badPatch(`Bad selector index in ${path}`);
    if (op.op === 'remove') {
      if (index >= selectors.length) return badPatch(`No selector at index ${index}`);
      selectors.splice(index, 1);
      continue;
    }
    if (op.op !== 'add' && op.op !== 'replace') return badPatch(`Unsupported op ${op.op}`);
    const problem = selectorProblem(ctx, flow, op.value);
    if (problem) return badPatch(`Invalid segment selector: ${problem}`);
    const selector = op.value as Selector;
    const others = op.op === 'replace' ? selectors.filter((_, i) => i !== index) : selectors;
    if (others.some((s) => s.value.id === selector.value.id)) {
      ctx.violation(`PATCH flows/${id}: duplicate selector for audience ${String(selector.value.id)}`);
      return badPatch(`Audience ${String(selector.value.id)} is already in this dataflow`);
    }
    if (op.op === 'replace') {
      if (index >= selectors.length) return badPatch(`No selector at index ${index}`);
      selectors[index] = selector;
    } else {
      if (index > selectors.length) return badPatch(`Index ${index} is beyond the selectors`);
      selectors.splice(index, 0, selector);
    }
  }
  flow.selectors = selectors;
  flow.etag = newEtag();
  flow.updatedAt = ctx.clock.nowMs();
  ctx.save();
  return json(200, { id: flow.id, etag: flow.etag });
}

/** `GET /runs?property=flowId==<id>`: dataflow runs are schedule-driven; none are simulated. */
export function listFlowRuns(_ctx: SimContext, _req: SimRequest): SimResponse {
  return json(200, { items: [] });
}
