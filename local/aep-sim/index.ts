// The embedded AEP simulator (dev and test only): IMS client credentials, the gateway's header checks,
// external audiences with asynchronous operations and runs, guardrails, and Flow Service dataflows with etags,
// as documented in shared/aep-api.md, plus switchable faults and a record of calls and contract violations.
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FaultController } from './faults.ts';
import { SimClock, type SimData, type SimFlow, type SimRun, SimStore } from './state.ts';
import { validateCreateBody, validateSelector } from './validation.ts';

export type { FaultRule } from './faults.ts';
export type { SimAudience, SimFlow, SimRun } from './state.ts';

export interface SeedFlow {
  id: string;
  name: string;
  kind: 'streaming' | 'batch';
}

export const SIMULATOR_DEFAULT_CREDENTIALS = {
  clientId: 'sim-client-id',
  clientSecret: 'sim-client-secret',
  orgId: 'SIMORG0000000000000000@AdobeOrg',
  sandboxName: 'sim-sandbox',
  baseConnectionId: 'a3b0b1c2-5d6e-4f70-8a9b-0c1d2e3f4a5b',
  scopes: 'openid,AdobeID,read_organizations,additional_info.projectedProductContext,session',
};

export const SIMULATOR_DEFAULT_FLOWS: SeedFlow[] = [
  {
    id: '7b1c2d3e-0000-4000-8000-5a7e57ea0001',
    name: 'Streaming destination (simulated)',
    kind: 'streaming',
  },
  { id: '7b1c2d3e-0000-4000-8000-ba7c4e5f0002', name: 'S3 file export (simulated)', kind: 'batch' },
];

export interface SimulatorOptions {
  host?: string;
  port?: number;
  credentials?: Omit<typeof SIMULATOR_DEFAULT_CREDENTIALS, 'baseConnectionId' | 'scopes'> & {
    scopes?: string;
  };
  baseConnectionIds?: string[];
  flows?: SeedFlow[];
  /** Simulated seconds per real second. */
  timeScale?: number;
  durations?: { operationSeconds?: number; runStageSeconds?: number };
  tokenLifetimeSeconds?: number;
  dailyRunLimit?: number;
  runsPerAudienceLimit?: number;
  statePath?: string | undefined;
  /** How many source files the folder holds in the window; 0 fails the run at DATASET_INGEST. */
  sourceFiles?: (path: string, startSec: number, endSec?: number) => Promise<number>;
}

export interface SimCall {
  seq: number;
  method: string;
  path: string;
  route: string;
  status: number;
  atMs: number;
  retryAfterSeconds?: number;
}

export interface AepSimulator {
  url: string;
  close(): Promise<void>;
  faults: FaultController;
  calls: SimCall[];
  violations: string[];
  audiences(): SimData['audiences'];
  runs(audienceId: string): SimRun[];
  flow(flowId: string): SimFlow | undefined;
  advance(seconds: number): void;
}

const AIS = '/data/core/ais';
const FLOWS = '/data/foundation/flowservice';

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`HTTP ${status}`);
  }
}

function aisError(status: number, code: string, title: string, detail: string): HttpError {
  return new HttpError(status, {
    type: `https://ns.adobe.com/aep/errors/${code}-${status}`,
    title,
    status,
    detail,
    report: { code: `${code}-${status}` },
  });
}

function gatewayError(status: number, code: string, message: string): HttpError {
  return new HttpError(status, { error_code: code, message });
}

function flowError(status: number, message: string, details = ''): HttpError {
  return new HttpError(status, { errorMessage: message, errorDetails: details });
}

/** Method + path template, for fault rules and the call record. */
function routeOf(method: string, path: string): string {
  const template = path
    .replace(/\/operations\/[^/]+$/, '/operations/{id}')
    .replace(/\/external-audience\/extend-ttl\/[^/]+$/, '/external-audience/extend-ttl/{id}')
    .replace(
      /\/external-audience\/(?!operations|extend-ttl)[^/]+\/runs\/[^/]+$/,
      '/external-audience/{id}/runs/{runId}',
    )
    .replace(/\/external-audience\/(?!operations|extend-ttl)[^/]+\/runs$/, '/external-audience/{id}/runs')
    .replace(/\/external-audience\/(?!operations|extend-ttl|$)[^/]+$/, '/external-audience/{id}')
    .replace(/\/flows\/[^/]+$/, '/flows/{id}');
  return `${method} ${template}`;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, {
      type: '/placeholder/type/uri',
      status: 400,
      title: 'BadRequestError',
      detail: 'Malformed JSON body',
    });
  }
}

function quoted(etag: string): string {
  return `"${etag}"`;
}

export async function startAepSimulator(options: SimulatorOptions = {}): Promise<AepSimulator> {
  const credentials = { ...SIMULATOR_DEFAULT_CREDENTIALS, ...options.credentials };
  const baseConnectionIds = new Set(
    options.baseConnectionIds ?? [SIMULATOR_DEFAULT_CREDENTIALS.baseConnectionId],
  );
  const clock = new SimClock(options.timeScale ?? 1);
  const operationSeconds = options.durations?.operationSeconds ?? 30;
  const stageSeconds = options.durations?.runStageSeconds ?? 60;
  const tokenLifetime = options.tokenLifetimeSeconds ?? 86399;
  const dailyRunLimit = options.dailyRunLimit ?? 100;
  const runsPerAudience = options.runsPerAudienceLimit ?? 10;
  const seedFlows = (options.flows ?? SIMULATOR_DEFAULT_FLOWS).map(
    (f): SimFlow => ({ ...f, etag: randomUUID(), selectors: [], selectorValues: [] }),
  );
  const store = new SimStore(options.statePath, { audiences: [], runs: [], flows: seedFlows, dailyRuns: {} });
  const faults = new FaultController();
  const calls: SimCall[] = [];
  const violations: string[] = [];
  const tokens = new Map<string, { expiresAtMs: number; issuedAtReal: number }>();
  const routeCounts = new Map<string, number>();
  /** Route → real ms before which a retry is early (from our own 429's Retry-After). */
  const notBefore = new Map<string, number>();

  const advanceState = () => {
    const now = clock.nowSeconds();
    let changed = false;
    for (const a of store.data.audiences) {
      if (a.status === 'PROCESSING' && now >= a.readyAt) {
        a.status = a.failureReason ? 'FAILED' : 'SUCCESS';
        changed = true;
      }
    }
    for (const r of store.data.runs) {
      if (r.status !== 'PROCESSING') continue;
      if (r.failStage === 'DATASET_INGEST' && now >= r.stageEnds[0]) r.status = 'FAILED';
      else if (now >= r.stageEnds[1]) r.status = r.failStage ? 'FAILED' : 'SUCCESS';
      if (r.status !== 'PROCESSING') changed = true;
    }
    if (changed) store.save();
  };

  const runView = (r: SimRun) => {
    const now = clock.nowSeconds();
    const stage = (name: 'DATASET_INGEST' | 'PROFILE_STORE_INGEST', end: number, startsAt: number) => {
      let status = now >= end ? 'SUCCESS' : now >= startsAt ? 'PROCESSING' : 'PENDING';
      if (r.failStage === name && now >= end) status = 'FAILED';
      if (r.failStage === 'DATASET_INGEST' && name === 'PROFILE_STORE_INGEST') status = 'SKIPPED';
      return { stage: name, status, flowRunId: `${r.runId}-${name === 'DATASET_INGEST' ? 1 : 2}` };
    };
    const audience = store.data.audiences.find((a) => a.audienceId === r.audienceId);
    return {
      audienceName: audience?.name,
      audienceId: r.audienceId,
      runId: r.runId,
      status: r.status,
      differentialIngestion: true,
      dataFilterStartTime: r.dataFilterStartTime,
      dataFilterEndTime: r.dataFilterEndTime,
      createdAt: r.createdAt,
      createdBy: `${credentials.clientId}@AdobeID`,
      ...(r.status === 'FAILED' ? { errorMessage: r.failureReason } : {}),
      details: [
        stage('DATASET_INGEST', r.stageEnds[0], r.createdAt),
        stage('PROFILE_STORE_INGEST', r.stageEnds[1], r.stageEnds[0]),
      ],
    };
  };

  const operationView = (a: SimData['audiences'][number]) => ({
    operationId: a.operationId,
    status: a.status,
    operationDetails: a.details,
    audienceName: a.name,
    ...(a.status === 'SUCCESS' ? { audienceId: a.audienceId } : {}),
    ...(a.status === 'FAILED' ? { errorMessage: a.failureReason } : {}),
    createdBy: `${credentials.clientId}@AdobeID`,
    createdAt: a.createdAt,
    updatedAt: a.status === 'PROCESSING' ? a.createdAt : a.readyAt,
  });

  const flowView = (f: SimFlow) => ({
    items: [
      {
        id: f.id,
        name: f.name,
        flowSpec: { id: '71471eba-b620-49e4-90fd-23f1fa0174d8', version: '1.0' },
        state: 'enabled',
        etag: quoted(f.etag),
        transformations: [
          {
            name: 'GeneralTransform',
            params: {
              profileSelectors: { selectors: [] },
              segmentSelectors: {
                selectors: f.selectorValues.map((value) => ({ type: 'PLATFORM_SEGMENT', value })),
              },
            },
          },
        ],
      },
    ],
  });

  const checkImsToken = async (req: IncomingMessage, body: string) => {
    const form = new URLSearchParams(body || new URL(req.url ?? '/', 'http://x').search);
    if (form.get('grant_type') !== 'client_credentials') {
      throw new HttpError(400, {
        error: 'unsupported_grant_type',
        error_description: 'grant_type must be client_credentials',
      });
    }
    if (
      form.get('client_id') !== credentials.clientId ||
      form.get('client_secret') !== credentials.clientSecret
    ) {
      throw new HttpError(401, {
        error: 'invalid_client',
        error_description: 'invalid client_id or client_secret',
      });
    }
    const scope = form.get('scope') ?? '';
    const known = new Set(SIMULATOR_DEFAULT_CREDENTIALS.scopes.split(','));
    if (!scope || scope.split(',').some((s) => !known.has(s.trim()))) {
      throw new HttpError(400, { error: 'invalid_scope', error_description: 'invalid scope' });
    }
    const token = randomBytes(24).toString('base64url');
    tokens.set(token, { expiresAtMs: clock.nowMs() + tokenLifetime * 1000, issuedAtReal: Date.now() });
    return { access_token: token, token_type: 'bearer', expires_in: tokenLifetime };
  };

  const checkGateway = (req: IncomingMessage, path: string, method: string) => {
    const auth = req.headers.authorization;
    if (!auth?.startsWith('Bearer ')) throw gatewayError(403, '403010', 'Oauth token is missing.');
    const token = tokens.get(auth.slice(7));
    if (!token || token.expiresAtMs <= clock.nowMs() || token.issuedAtReal < faults.revokedBefore) {
      throw gatewayError(401, '401013', 'Oauth token is not valid');
    }
    const apiKey = req.headers['x-api-key'];
    if (!apiKey) throw gatewayError(403, '403000', 'Api Key is required');
    if (apiKey !== credentials.clientId) throw gatewayError(403, '403003', 'Api Key is invalid');
    const org = req.headers['x-gw-ims-org-id'];
    if (!org) throw gatewayError(400, '400003', 'Missing header x-gw-ims-org-id');
    if (org !== credentials.orgId) {
      throw aisError(401, '100921', 'UNAUTHORIZED', `invalid imsOrgId ${String(org)}`);
    }
    const sandbox = req.headers['x-sandbox-name'];
    if (!sandbox) {
      if (path.startsWith(FLOWS))
        violations.push(`${method} ${path}: no x-sandbox-name header (Flow Service resolves to prod)`);
      else throw aisError(400, '100910', 'BAD_REQUEST', 'the x-sandbox-name header is required');
    } else if (sandbox !== credentials.sandboxName) {
      throw aisError(404, '100940', 'NOT_FOUND', `sandbox ${String(sandbox)} not found`);
    }
    if ((method === 'POST' || method === 'PATCH' || method === 'PUT') && !path.includes('/extend-ttl/')) {
      if (!String(req.headers['content-type'] ?? '').includes('application/json')) {
        throw new HttpError(400, {
          type: '/placeholder/type/uri',
          status: 400,
          title: 'BadRequestError',
          detail: 'A valid content-type must be specified',
        });
      }
    }
  };

  const audienceById = (id: string) => {
    const a = store.data.audiences.find((x) => x.audienceId === id && x.status === 'SUCCESS');
    if (!a) throw aisError(404, '100940', 'NOT_FOUND', `audience ${id} not found`);
    return a;
  };

  const handlePlatform = async (
    method: string,
    path: string,
    url: URL,
    body: string,
    headers: IncomingMessage['headers'],
    applyWrite: boolean,
  ) => {
    // External audiences
    if (method === 'POST' && (path === `${AIS}/external-audience/` || path === `${AIS}/external-audience`)) {
      const request = validateCreateBody(parseJson(body), baseConnectionIds);
      if (
        store.data.audiences.some(
          (a) => a.name.toLowerCase() === request.name.toLowerCase() && a.status !== 'FAILED',
        )
      ) {
        throw aisError(
          409,
          '100950',
          'DUPLICATE_RESOURCE',
          `an audience named "${request.name}" already exists`,
        );
      }
      const now = clock.nowSeconds();
      const audience = {
        audienceId: randomUUID(),
        name: request.name,
        status: 'PROCESSING' as const,
        operationId: randomUUID(),
        details: request.details,
        sourcePath: request.sourcePath,
        createdAt: now,
        readyAt: now + operationSeconds,
        ...(faults.nextOperationFailure ? { failureReason: faults.nextOperationFailure } : {}),
      };
      faults.nextOperationFailure = undefined;
      if (applyWrite) {
        store.data.audiences.push(audience);
        store.save();
      }
      return { status: 202, body: { operationId: audience.operationId, operationDetails: audience.details } };
    }
    const op = /^\/data\/core\/ais\/external-audiences?\/operations\/([^/]+)$/.exec(path);
    if (method === 'GET' && op) {
      const a = store.data.audiences.find((x) => x.operationId === op[1]);
      if (!a) throw aisError(404, '100940', 'NOT_FOUND', `operation ${op[1]} not found`);
      return { status: 200, body: operationView(a) };
    }
    const runOne = /^\/data\/core\/ais\/external-audience\/([^/]+)\/runs\/([^/]+)$/.exec(path);
    if (method === 'GET' && runOne) {
      audienceById(runOne[1]!);
      const r = store.data.runs.find((x) => x.audienceId === runOne[1] && x.runId === runOne[2]);
      if (!r) throw aisError(404, '100940', 'NOT_FOUND', `run ${runOne[2]} not found`);
      return { status: 200, body: runView(r) };
    }
    const runs = /^\/data\/core\/ais\/external-audience\/([^/]+)\/runs$/.exec(path);
    if (runs && method === 'GET') {
      audienceById(runs[1]!);
      const list = store.data.runs.filter((r) => r.audienceId === runs[1]).reverse();
      return { status: 200, body: { runs: list.map(runView) } };
    }
    if (runs && method === 'POST') {
      const audience = audienceById(runs[1]!);
      const request = parseJson(body) as { dataFilterStartTime?: unknown; dataFilterEndTime?: unknown };
      if (typeof request.dataFilterStartTime !== 'number' || !Number.isFinite(request.dataFilterStartTime)) {
        throw aisError(400, '100910', 'BAD_REQUEST', 'dataFilterStartTime is required (epoch seconds)');
      }
      let start: number = request.dataFilterStartTime;
      let end = typeof request.dataFilterEndTime === 'number' ? request.dataFilterEndTime : undefined;
      if (start > 1e12) {
        violations.push(`${method} ${path}: dataFilterStartTime in milliseconds, not seconds`);
        start = Math.floor(start / 1000);
        if (end !== undefined) end = Math.floor(end / 1000);
      }
      const existing = store.data.runs.filter((r) => r.audienceId === audience.audienceId);
      if (existing.some((r) => r.status === 'PROCESSING')) {
        throw aisError(
          422,
          '100960',
          'UNPROCESSABLE_ENTITY',
          'A run is in progress for this audience; only one active run per audience is allowed',
        );
      }
      if (existing.length >= runsPerAudience) {
        throw aisError(
          422,
          '100960',
          'UNPROCESSABLE_ENTITY',
          `The limit of ${runsPerAudience} ingestion runs per audience has been reached`,
        );
      }
      const day = new Date(clock.nowMs()).toISOString().slice(0, 10);
      if ((store.data.dailyRuns[day] ?? 0) >= dailyRunLimit) {
        throw aisError(
          422,
          '100960',
          'UNPROCESSABLE_ENTITY',
          `The limit of ${dailyRunLimit} ingestion runs per day for this sandbox has been reached`,
        );
      }
      const now = clock.nowSeconds();
      const run: SimRun = {
        runId: randomUUID(),
        audienceId: audience.audienceId,
        status: 'PROCESSING',
        dataFilterStartTime: start,
        ...(end === undefined ? {} : { dataFilterEndTime: end }),
        createdAt: now,
        stageEnds: [now + stageSeconds, now + 2 * stageSeconds],
      };
      if (faults.nextRunFailure) {
        run.failStage = faults.nextRunFailure.stage;
        run.failureReason = faults.nextRunFailure.reason;
        faults.nextRunFailure = undefined;
      } else if (options.sourceFiles && (await options.sourceFiles(audience.sourcePath, start, end)) === 0) {
        run.failStage = 'DATASET_INGEST';
        run.failureReason = `no file in ${audience.sourcePath} was modified within the data filter window`;
      }
      if (applyWrite) {
        store.data.runs.push(run);
        store.data.dailyRuns[day] = (store.data.dailyRuns[day] ?? 0) + 1;
        store.save();
      }
      const view = runView(run);
      return {
        status: 200,
        body: {
          audienceName: view.audienceName,
          audienceId: view.audienceId,
          runId: run.runId,
          differentialIngestion: true,
          dataFilterStartTime: start,
          dataFilterEndTime: end,
          createdAt: now,
          createdBy: view.createdBy,
        },
      };
    }
    const one = /^\/data\/core\/ais\/external-audience\/([^/]+)$/.exec(path);
    if (one && method === 'GET') {
      const a = audienceById(one[1]!);
      return { status: 200, body: { audienceId: a.audienceId, audienceName: a.name, ...a.details } };
    }
    if (one && method === 'DELETE') {
      const a = audienceById(one[1]!);
      if (applyWrite) {
        store.data.audiences = store.data.audiences.filter((x) => x !== a);
        store.save();
      }
      return { status: 204, body: undefined };
    }
    if (method === 'GET' && path === '/data/core/ups/audiences') {
      const filter = url.searchParams.getAll('property').find((p) => p.startsWith('name=='));
      const name = filter?.slice('name=='.length).toLowerCase();
      const children = store.data.audiences
        .filter((a) => a.status === 'SUCCESS' && (name === undefined || a.name.toLowerCase() === name))
        .map((a) => ({
          id: a.audienceId,
          name: a.name,
          audienceId: a.audienceId,
          originName: 'CUSTOM_UPLOAD',
        }));
      return {
        status: 200,
        body: { children, _page: { totalCount: children.length, pageSize: children.length } },
      };
    }
    // Flow Service
    const flowMatch = new RegExp(`^${FLOWS}/flows/([^/]+)$`).exec(path);
    if (flowMatch) {
      const flow = store.data.flows.find((f) => f.id === flowMatch[1]);
      if (!flow)
        throw flowError(
          404,
          `flows not found with id = [${flowMatch[1]}]`,
          'The requested flow does not exist',
        );
      if (method === 'GET') {
        const view = flowView(flow);
        if (faults.editFlowsAfterGet.delete(flow.id)) {
          // Someone else edits the flow right after our GET: the etag we just read is stale.
          flow.etag = randomUUID();
          store.save();
        }
        return { status: 200, body: view };
      }
      if (method === 'PATCH') {
        const ifMatch = String(headers['if-match'] ?? '');
        if (!ifMatch || !/^".*"$/.test(ifMatch) || ifMatch !== quoted(flow.etag)) {
          if (ifMatch && !/^".*"$/.test(ifMatch))
            violations.push(`PATCH ${path}: If-Match not wrapped in double quotes`);
          throw flowError(
            412,
            `Supplied version=[${ifMatch}] does not match the current version on entity=[${quoted(flow.etag)}]`,
            'Precondition Failed',
          );
        }
        const ops = parseJson(body);
        if (!Array.isArray(ops)) throw flowError(400, 'The request body must be a JSON Patch array');
        const next = [...flow.selectorValues];
        for (const op of ops as { op?: string; path?: string; value?: unknown }[]) {
          if (op.op === 'add' && op.path === '/transformations/0/params/segmentSelectors/selectors/-') {
            const value = validateSelector(op.value, flow.kind, (id) =>
              store.data.audiences.some((a) => a.audienceId === id && a.status === 'SUCCESS'),
            );
            if (next.some((v) => v.id === value.id)) {
              violations.push(`PATCH ${path}: duplicate selector for audience ${String(value.id)}`);
              throw flowError(400, `A selector for segment ${String(value.id)} already exists in this flow`);
            }
            next.push(value);
          } else if (
            op.op === 'remove' &&
            /^\/transformations\/0\/params\/segmentSelectors\/selectors\/\d+$/.test(op.path ?? '')
          ) {
            next.splice(Number(op.path!.split('/').pop()), 1);
          } else {
            throw flowError(400, `Unsupported patch operation ${op.op} ${op.path}`);
          }
        }
        if (applyWrite) {
          flow.selectorValues = next;
          flow.selectors = next.map((v) => String(v.id));
          flow.etag = randomUUID();
          store.save();
        }
        return { status: 200, body: { id: flow.id, etag: quoted(flow.etag) } };
      }
    }
    if (method === 'GET' && path === `${FLOWS}/runs`) return { status: 200, body: { items: [] } };
    throw aisError(404, '100940', 'NOT_FOUND', `no route ${method} ${path}`);
  };

  let seq = 0;

  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://sim');
    const path = url.pathname;
    const route = path === '/ims/token/v3' ? 'POST /ims/token/v3' : routeOf(method, path);
    const callNumber = (routeCounts.get(route) ?? 0) + 1;
    routeCounts.set(route, callNumber);
    const call: SimCall = { seq: ++seq, method, path, route, status: 0, atMs: Date.now() };
    calls.push(call);
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      call.status = status;
      if (body === undefined) {
        res.writeHead(status, headers);
        res.end();
        return;
      }
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    try {
      const body = await readBody(req);
      const earliest = notBefore.get(route);
      if (earliest !== undefined && Date.now() < earliest) {
        violations.push(`${route}: retried ${earliest - Date.now()} ms before the Retry-After of its 429`);
      }
      if (faults.revokeOnCall?.route === route && faults.revokeOnCall.nth === callNumber) {
        faults.revokeOnCall = undefined;
        faults.revokeTokens();
      }
      const delay = faults.delayFor(route);
      if (delay > 0) await new Promise((r) => setTimeout(r, delay));
      const fault = faults.match(route, callNumber);
      if (fault && !fault.applyBeforeFailing) {
        if (fault.dropConnection) {
          call.status = -1;
          req.socket.destroy();
          return;
        }
        const headers: Record<string, string> = {};
        if (fault.retryAfterSeconds !== undefined && (fault.status === 429 || fault.status === 503)) {
          headers['retry-after'] = String(fault.retryAfterSeconds);
          call.retryAfterSeconds = fault.retryAfterSeconds;
          if (fault.status === 429) notBefore.set(route, Date.now() + fault.retryAfterSeconds * 1000 - 50);
        }
        send(
          fault.status,
          path.startsWith(FLOWS)
            ? { errorMessage: 'Service unavailable', errorDetails: 'injected' }
            : { error_code: String(fault.status), message: 'injected fault' },
          headers,
        );
        return;
      }
      if (path === '/ims/token/v3' && method === 'POST') {
        send(200, await checkImsToken(req, body));
        return;
      }
      checkGateway(req, path, method);
      advanceState();
      const result = await handlePlatform(method, path, url, body, req.headers, true);
      if (fault?.applyBeforeFailing) {
        send(fault.status, { error_code: String(fault.status), message: 'injected fault after applying' });
        return;
      }
      send(result.status, result.body);
    } catch (error) {
      const known = error as { status?: unknown; body?: unknown };
      if (typeof known.status === 'number' && known.body !== undefined) send(known.status, known.body);
      else send(500, { error_code: '100970', message: (error as Error).message });
    }
  });
  await new Promise<void>((resolve) =>
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve),
  );
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    faults,
    calls,
    violations,
    audiences: () => {
      advanceState();
      return store.data.audiences;
    },
    runs: (audienceId) => {
      advanceState();
      return store.data.runs.filter((r) => r.audienceId === audienceId);
    },
    flow: (flowId) => store.data.flows.find((f) => f.id === flowId),
    advance: (seconds) => clock.advance(seconds),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
