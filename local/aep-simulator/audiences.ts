// External audiences under /data/core/ais: create, operations, read/update/delete, extend-ttl, and the
// /core/ups name listing used to resolve an audience id.
import { randomUUID } from 'node:crypto';
import { audienceStatus, findCreatedAudience, type SimContext } from './context.ts';
import {
  aisError,
  badRequest,
  isRecord,
  json,
  parseJson,
  type SimRequest,
  type SimResponse,
  unprocessable,
} from './http.ts';
import { runStatus } from './runs.ts';
import type { StoredAudience } from './store.ts';
import { validateCreate } from './validation.ts';

const CREATED_BY = 'sim-technical-account@techacct.adobe.com';

const notFound = (id: string) => aisError(100940, 404, 'NOT_FOUND', `Audience ${id} was not found`);

function body(req: SimRequest): { ok: true; value: unknown } | { ok: false; response: SimResponse } {
  const parsed = parseJson(req.rawBody || '{}');
  return parsed.ok ? parsed : { ok: false, response: badRequest('The request body is not valid JSON') };
}

export function createAudience(ctx: SimContext, req: SimRequest): SimResponse {
  const parsed = body(req);
  if (!parsed.ok) return parsed.response;
  const valid = validateCreate(parsed.value, ctx.settings.baseConnectionIds, ctx.settings.namespaces);
  if (!valid.ok) return valid.response;
  const now = ctx.clock.nowSec();
  const { name } = valid.value;
  const taken = ctx.state.audiences.find(
    (a) => !a.deleted && a.name.toLowerCase() === name.toLowerCase() && audienceStatus(a, now) !== 'FAILED',
  );
  if (taken) {
    return aisError(100950, 409, 'DUPLICATE_RESOURCE', `An audience named ${taken.name} already exists`);
  }
  const failure = ctx.faults.pendingOperationFailure;
  ctx.faults.pendingOperationFailure = undefined;
  const audience: StoredAudience = {
    audienceId: randomUUID(),
    name,
    operationId: randomUUID(),
    details: valid.value.details,
    sourcePath: valid.value.sourcePath,
    ttlInDays: valid.value.ttlInDays,
    ...(valid.value.description !== undefined ? { description: valid.value.description } : {}),
    labels: valid.value.details.labels,
    fields: valid.value.fields,
    createdAt: now,
    updatedAt: now,
    readyAt: now + ctx.settings.operationSeconds,
    ...(failure ? { operationFails: failure } : {}),
  };
  ctx.state.audiences.push(audience);
  ctx.save();
  return json(202, { operationId: audience.operationId, operationDetails: audience.details });
}

export function getOperation(ctx: SimContext, req: SimRequest): SimResponse {
  const operationId = req.params[0] ?? '';
  const audience = ctx.state.audiences.find((a) => a.operationId === operationId);
  if (!audience) return aisError(100940, 404, 'NOT_FOUND', `Operation ${operationId} was not found`);
  const status = audienceStatus(audience, ctx.clock.nowSec());
  return json(200, {
    operationId,
    status,
    operationDetails: audience.details,
    ...(status === 'SUCCESS' ? { audienceId: audience.audienceId, audienceName: audience.name } : {}),
    ...(status === 'FAILED' ? { failureReason: audience.operationFails } : {}),
    createdBy: CREATED_BY,
    createdAt: audience.createdAt,
    updatedBy: CREATED_BY,
    updatedAt: status === 'PROCESSING' ? audience.createdAt : audience.readyAt,
  });
}

export function audienceView(audience: StoredAudience): Record<string, unknown> {
  const details = audience.details as { sourceSpec?: { params?: unknown } };
  return {
    audienceId: audience.audienceId,
    audienceName: audience.name,
    description: audience.description,
    fields: audience.fields,
    sourceSpec: details.sourceSpec?.params,
    ttlInDays: audience.ttlInDays,
    labels: audience.labels,
    audienceType: 'people',
    originName: 'CUSTOM_UPLOAD',
    createdBy: CREATED_BY,
    createdAt: audience.createdAt,
    updatedBy: CREATED_BY,
    updatedAt: audience.updatedAt,
  };
}

export function getAudience(ctx: SimContext, req: SimRequest): SimResponse {
  const id = req.params[0] ?? '';
  const audience = findCreatedAudience(ctx, id);
  return audience ? json(200, audienceView(audience)) : notFound(id);
}

export function patchAudience(ctx: SimContext, req: SimRequest): SimResponse {
  const id = req.params[0] ?? '';
  const audience = findCreatedAudience(ctx, id);
  if (!audience) return notFound(id);
  const parsed = body(req);
  if (!parsed.ok) return parsed.response;
  const patch = parsed.value;
  if (!isRecord(patch)) return badRequest('The request body must be a JSON object');
  const allowed = ['description', 'labels', 'fields', 'ttlInDays'];
  const unknown = Object.keys(patch).find((k) => !allowed.includes(k));
  if (unknown) return badRequest(`${unknown} cannot be updated`);
  if (patch.ttlInDays !== undefined) {
    const ttl = typeof patch.ttlInDays === 'string' ? Number(patch.ttlInDays) : patch.ttlInDays;
    if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1 || ttl > 90) {
      return badRequest('ttlInDays must be an integer from 1 to 90');
    }
    audience.ttlInDays = ttl;
  }
  if (patch.description !== undefined) audience.description = String(patch.description);
  if (patch.labels !== undefined) audience.labels = patch.labels;
  if (patch.fields !== undefined) {
    if (!Array.isArray(patch.fields)) return badRequest('fields must be an array');
    for (const change of patch.fields) {
      if (!isRecord(change)) return badRequest('fields items must be objects');
      const target = audience.fields.find((f) => isRecord(f) && f.name === change.name);
      if (!isRecord(target)) return badRequest(`fields: no field named ${String(change.name)}`);
      Object.assign(target, change);
    }
  }
  audience.updatedAt = ctx.clock.nowSec();
  ctx.save();
  return json(200, audienceView(audience));
}

export function deleteAudience(ctx: SimContext, req: SimRequest): SimResponse {
  const id = req.params[0] ?? '';
  const audience = findCreatedAudience(ctx, id);
  if (!audience) return notFound(id);
  audience.deleted = true;
  ctx.save();
  return { status: 204 };
}

/**
 * `POST /external-audience/extend-ttl/{id}`: "the data expiration is extended by the original period set at
 * ingestion (30 days when none was); extending re-ingests the audience with the data of its last successful
 * ingestion" (external-audiences.md, `.ko-KR` @3943f663), 200 `{audienceId, name}`. Without a finished
 * successful run there is nothing to re-ingest: 422 _(inferred: the refusal is undocumented)_.
 */
export function extendTtl(ctx: SimContext, req: SimRequest): SimResponse {
  const id = req.params[0] ?? '';
  const audience = findCreatedAudience(ctx, id);
  if (!audience) return notFound(id);
  const now = ctx.clock.nowSec();
  const hasSuccessfulRun = ctx.state.runs.some(
    (r) => r.audienceId === id && runStatus(r, now).status === 'SUCCESS',
  );
  if (!hasSuccessfulRun) {
    return unprocessable('UNPROCESSABLE_ENTITY', 'The audience has no successful ingestion run to extend');
  }
  audience.updatedAt = now;
  audience.ttlExtendedAt = [...(audience.ttlExtendedAt ?? []), now];
  ctx.save();
  return json(200, { audienceId: id, name: audience.name });
}

/** `GET /data/core/ups/audiences?property=name==<name>`: only audiences whose creation succeeded. */
export function listUpsAudiences(ctx: SimContext, req: SimRequest): SimResponse {
  const names = req.query
    .getAll('property')
    .map((p) => p.match(/^name==(.*)$/)?.[1])
    .filter((n): n is string => n !== undefined)
    .map((n) => n.toLowerCase());
  const now = ctx.clock.nowSec();
  const children = ctx.state.audiences
    .filter((a) => !a.deleted && audienceStatus(a, now) === 'SUCCESS')
    .filter((a) => names.length === 0 || names.includes(a.name.toLowerCase()))
    .map((a) => ({
      id: a.audienceId,
      name: a.name,
      namespace: 'CustomerAudienceUpload',
      originName: 'CUSTOM_UPLOAD',
      description: a.description,
      creationTime: a.createdAt * 1000,
      updateTime: a.updatedAt * 1000,
    }));
  return json(200, { children, _page: { totalCount: children.length, pageSize: children.length } });
}
