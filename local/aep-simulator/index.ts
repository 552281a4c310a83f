// The embedded AEP simulator (dev/test only, never bundled): IMS + Platform routes of docs/aep.md on one
// loopback HTTP server, with a fast clock, fault injection, a call log, contract-violation records, persistence.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClock } from './clock.ts';
import type { SimContext, SimSettings } from './context.ts';
import { type FaultController, type FaultRule, Faults } from './faults.ts';
import { newEtag } from './flows.ts';
import { checkGateway } from './gateway.ts';
import {
  aisError,
  flowError,
  gatewayError,
  json,
  readBody,
  routeNotFound,
  type SimRequest,
  type SimResponse,
} from './http.ts';
import { handleTokenRequest, type ImsCredentials, TokenRegistry } from './ims.ts';
import { matchRoute } from './routes.ts';
import { runStatus } from './runs.ts';
import { emptyState, loadState, type SimState, type SimStatus, saveState } from './store.ts';

export type { FaultController, FaultRule, RunFailureOptions, SlowRule } from './faults.ts';

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

/** First streaming, second batch (file-based); fixed ids so manifests can name them. */
export const SIMULATOR_DEFAULT_FLOWS: SeedFlow[] = [
  {
    id: '7b1c2d3e-0000-4000-8000-5a7e57ea0001',
    name: 'Streaming destination (simulated)',
    kind: 'streaming',
  },
  { id: '7b1c2d3e-0000-4000-8000-ba7c4e5f0002', name: 'S3 file export (simulated)', kind: 'batch' },
];

/**
 * AEP's standard identity namespaces that a file of this pipeline can name (Identity Service, "Standard
 * namespaces"; the hashed ones are the ones destinations such as Google Customer Match activate:
 * docs/aep.md#identity-namespaces). Any other code must be a custom namespace of the sandbox.
 */
export const STANDARD_NAMESPACES = [
  'Email',
  'Phone',
  'Phone_E.164',
  'Email_LC_SHA256',
  'Phone_SHA256',
  'Phone_SHA256_E.164',
  'ECID',
  'GAID',
  'IDFA',
];

export interface SimulatorOptions {
  host?: string;
  port?: number;
  credentials?: ImsCredentials;
  baseConnectionIds?: string[];
  /**
   * Sandboxes besides the credentials' own that the client may name in x-sandbox-name (the teams of a local
   * run): all share the simulator's one state, as if they were one sandbox.
   */
  extraSandboxNames?: string[];
  /** Identity namespaces created in the sandbox besides AEP's standard ones (default CRMID). */
  customNamespaces?: string[];
  flows?: SeedFlow[];
  /** Simulated seconds per real second. */
  timeScale?: number;
  durations?: { operationSeconds?: number; runStageSeconds?: number };
  tokenLifetimeSeconds?: number;
  /** The access token IMS issues the n-th time (default: random). Leak tests issue recognizable markers. */
  accessTokenFactory?: (sequence: number) => string;
  dailyRunLimit?: number;
  runsPerAudienceLimit?: number;
  /** JSON state file: loaded at start if present, saved after every mutation. */
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
  /** Real epoch ms when the request arrived (its body read), before any injected latency. */
  receivedAtMs: number;
  /** Real epoch ms when the answer was decided. */
  atMs: number;
  /**
   * The call's identity: method, path with query, and a hash of the body. Two calls with the same key are the
   * same request sent twice (a retry, or another client asking the very same thing).
   */
  requestKey: string;
  /** The caller's User-Agent: which client (which execution environment) sent the call. */
  client?: string;
  tokenId?: string;
  retryAfterSeconds?: number;
}

export interface SimAudience {
  audienceId: string;
  name: string;
  status: SimStatus;
  operationId: string;
  sourcePath: string;
  ttlInDays: number;
  createdAt: number;
  /** As created (or last patched): name, type, identityNs… */
  fields: { name: string; type?: string; identityNs?: string }[];
}

export interface SimRun {
  runId: string;
  audienceId: string;
  status: SimStatus;
  dataFilterStartTime: number;
  dataFilterEndTime?: number;
  createdAt: number;
  /** Simulated epoch seconds at which the run ends (its last stage ends, or its failing stage does). */
  endsAt: number;
  failureReason?: string;
  /** The Flow Service run behind each stage (DATASET_INGEST, PROFILE_STORE_INGEST). */
  flowRunIds: [string, string];
}

export interface SimFlow {
  id: string;
  name: string;
  kind: 'streaming' | 'batch';
  etag: string;
  /** Audience ids in segmentSelectors, in order. */
  selectors: string[];
  /** The selectors as stored. */
  segmentSelectors: { type: string; value: Record<string, unknown> }[];
}

export interface AepSimulator {
  /** Base URL: IMS at `${url}/ims/token/v3`, Platform under `${url}/data/...`. */
  url: string;
  close(): Promise<void>;
  faults: FaultController;
  calls: SimCall[];
  violations: string[];
  audiences(): SimAudience[];
  runs(audienceId: string): SimRun[];
  flow(flowId: string): SimFlow | undefined;
  /** Moves the simulated clock forward. */
  advance(seconds: number): void;
}

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The error a fault answers with, in the shape of the service it hits. */
function faultResponse(path: string, rule: FaultRule): SimResponse {
  const { status } = rule;
  const headers: Record<string, string> =
    rule.retryAfterSeconds !== undefined && (status === 429 || status === 503)
      ? { 'retry-after': String(rule.retryAfterSeconds) }
      : {};
  const text = status === 429 ? 'Too many requests' : `Simulated ${status} failure`;
  let response: SimResponse;
  if (path.startsWith('/ims/')) response = json(status, { error: 'server_error', error_description: text });
  else if (path.startsWith('/data/core/ais/')) {
    response = aisError(
      status === 429 ? 100980 : 100970,
      status,
      status === 429 ? 'TOO_MANY_REQUESTS' : 'INTERNAL_SERVER_ERROR',
      text,
    );
  } else if (path.startsWith('/data/foundation/flowservice/')) response = flowError(status, text, text);
  else response = gatewayError(status, status === 429 ? '429050' : String(status), text);
  return { ...response, headers };
}

/** `METHOD /path?query #<body hash>`: what makes two calls the same request. */
function callIdentity(method: string, url: URL, rawBody: string): string {
  const body = rawBody ? ` #${createHash('sha256').update(rawBody).digest('hex').slice(0, 16)}` : '';
  return `${method} ${url.pathname}${url.search}${body}`;
}

function seedFlows(state: SimState, seeds: SeedFlow[], nowMs: number): void {
  for (const seed of seeds) {
    if (state.flows.some((f) => f.id === seed.id)) continue;
    state.flows.push({ ...seed, etag: newEtag(), selectors: [], updatedAt: nowMs });
  }
}

export async function startAepSimulator(options: SimulatorOptions = {}): Promise<AepSimulator> {
  const credentials: ImsCredentials = {
    scopes: SIMULATOR_DEFAULT_CREDENTIALS.scopes,
    ...(options.credentials ?? SIMULATOR_DEFAULT_CREDENTIALS),
  };
  const sandboxes = [credentials.sandboxName, ...(options.extraSandboxNames ?? [])];
  const loaded = loadState(options.statePath);
  const clock = createClock(options.timeScale ?? 1, loaded?.clockMs);
  const state = loaded ?? emptyState();
  seedFlows(state, options.flows ?? SIMULATOR_DEFAULT_FLOWS, clock.nowMs());
  const tokenLifetime = options.tokenLifetimeSeconds ?? 86399;
  const tokens = new TokenRegistry(clock, tokenLifetime, options.accessTokenFactory);
  const faults = new Faults(() => tokens.revokeAll());
  const calls: SimCall[] = [];
  const violations: string[] = [];
  const settings: SimSettings = {
    baseConnectionIds: options.baseConnectionIds ?? [SIMULATOR_DEFAULT_CREDENTIALS.baseConnectionId],
    namespaces: new Set(
      [...STANDARD_NAMESPACES, ...(options.customNamespaces ?? ['CRMID'])].map((ns) => ns.toLowerCase()),
    ),
    operationSeconds: options.durations?.operationSeconds ?? 30,
    runStageSeconds: options.durations?.runStageSeconds ?? 60,
    dailyRunLimit: options.dailyRunLimit ?? 100,
    runsPerAudienceLimit: options.runsPerAudienceLimit ?? 10,
    sandboxName: credentials.sandboxName,
    clientId: credentials.clientId,
    ...(options.sourceFiles ? { sourceFiles: options.sourceFiles } : {}),
  };
  const statePath = options.statePath;
  const ctx: SimContext = {
    clock,
    state,
    faults,
    settings,
    violation: (text) => violations.push(text),
    save: () => {
      if (statePath) saveState(statePath, { ...state, clockMs: clock.nowMs() });
    },
  };
  ctx.save();
  /**
   * client + requestKey → real ms before which that client sending that very request again is too early (its
   * 429's Retry-After). Per client: another execution environment cannot know of a 429 it did not receive.
   */
  const throttledUntil = new Map<string, number>();

  async function answer(
    routeName: string,
    requestKey: string,
    req: SimRequest,
    handler: ((c: SimContext, r: SimRequest) => SimResponse | Promise<SimResponse>) | undefined,
  ): Promise<{ response: SimResponse; tokenId?: string; drop?: boolean }> {
    const notBefore = throttledUntil.get(requestKey);
    if (notBefore !== undefined) {
      throttledUntil.delete(requestKey);
      const early = notBefore - Date.now();
      // A few ms of slack: the client's timer and ours start at slightly different moments.
      if (early > 25)
        violations.push(`${routeName}: repeated ${early} ms before the Retry-After of its 429 elapsed`);
    }
    faults.revokeIfDue(routeName);
    const fault = faults.decide(routeName);
    const latency = faults.latencyMs(routeName);
    if (latency > 0) await new Promise((resolve) => setTimeout(resolve, latency));
    if (fault && (fault.dropConnection || !(fault.applyBeforeFailing && WRITES.has(req.method)))) {
      return { response: faultResponse(req.path, fault), drop: fault.dropConnection === true };
    }
    let result: { response: SimResponse; tokenId?: string };
    if (req.path === '/ims/token/v3' && req.method === 'POST') {
      const { tokenId, ...response } = handleTokenRequest(req, credentials, tokens, tokenLifetime);
      result = { response, ...(tokenId ? { tokenId } : {}) };
    } else if (!handler) {
      result = { response: routeNotFound(req.method, req.path) };
    } else {
      const gate = checkGateway(req, credentials, tokens, ctx.violation, sandboxes);
      if (!gate.ok) result = { response: gate.response, ...(gate.tokenId ? { tokenId: gate.tokenId } : {}) };
      else result = { response: await handler(ctx, req), tokenId: gate.tokenId };
    }
    return fault ? { ...result, response: faultResponse(req.path, fault) } : result;
  }

  async function serve(message: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(message.url ?? '/', 'http://simulator');
    const method = (message.method ?? 'GET').toUpperCase();
    const rawBody = await readBody(message);
    const receivedAtMs = Date.now();
    const requestKey = callIdentity(method, url, rawBody);
    const matched = url.pathname.startsWith('/data/') ? matchRoute(method, url.pathname) : undefined;
    const routeName =
      url.pathname === '/ims/token/v3' && method === 'POST'
        ? 'POST /ims/token/v3'
        : (matched?.name ?? `${method} ${url.pathname}`);
    const req: SimRequest = {
      method,
      path: url.pathname,
      query: url.searchParams,
      headers: message.headers,
      rawBody,
      params: matched?.params ?? [],
    };
    const client =
      typeof message.headers['user-agent'] === 'string' ? message.headers['user-agent'] : undefined;
    const throttleKey = `${client ?? ''} ${requestKey}`;
    const { response, tokenId, drop } = await answer(routeName, throttleKey, req, matched?.handler);
    const retryAfter = response.headers?.['retry-after'];
    const call: SimCall = {
      seq: calls.length + 1,
      method,
      path: url.pathname,
      route: routeName,
      status: drop ? 0 : response.status,
      receivedAtMs,
      atMs: Date.now(),
      requestKey,
      ...(client ? { client } : {}),
      ...(tokenId ? { tokenId } : {}),
      ...(retryAfter ? { retryAfterSeconds: Number(retryAfter) } : {}),
    };
    calls.push(call);
    if (drop) {
      message.socket.destroy();
      return;
    }
    if (response.status === 429 && retryAfter) {
      throttledUntil.set(throttleKey, Date.now() + Number(retryAfter) * 1000);
    }
    const headers: Record<string, string> = { ...response.headers };
    if (response.body !== undefined) headers['content-type'] = 'application/json';
    res.writeHead(response.status, headers);
    res.end(response.body === undefined ? undefined : JSON.stringify(response.body));
  }

  const server = createServer((message, res) => {
    serve(message, res).catch((error: unknown) => {
      violations.push(`simulator error: ${error instanceof Error ? error.message : String(error)}`);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error_code: '500000', message: 'simulator internal error' }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;

  return {
    url: `http://${options.host ?? '127.0.0.1'}:${address.port}`,
    faults,
    calls,
    violations,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
    advance: (seconds) => clock.advance(seconds),
    audiences: () => {
      const now = clock.nowSec();
      return state.audiences
        .filter((a) => !a.deleted)
        .map((a) => ({
          audienceId: a.audienceId,
          name: a.name,
          status: now < a.readyAt ? 'PROCESSING' : a.operationFails ? 'FAILED' : 'SUCCESS',
          operationId: a.operationId,
          sourcePath: a.sourcePath,
          ttlInDays: a.ttlInDays,
          createdAt: a.createdAt,
          fields: a.fields as SimAudience['fields'],
        }));
    },
    runs: (audienceId) => {
      const now = clock.nowSec();
      return state.runs
        .filter((r) => r.audienceId === audienceId)
        .map((r) => ({
          runId: r.runId,
          audienceId: r.audienceId,
          status: runStatus(r, now).status,
          dataFilterStartTime: r.dataFilterStartTime,
          ...(r.dataFilterEndTime !== undefined ? { dataFilterEndTime: r.dataFilterEndTime } : {}),
          createdAt: r.createdAt,
          endsAt: r.failStage === 'DATASET_INGEST' ? r.stageEnds[0] : r.stageEnds[1],
          ...(r.failureReason ? { failureReason: r.failureReason } : {}),
          flowRunIds: [...r.flowRunIds],
        }));
    },
    flow: (flowId) => {
      const flow = state.flows.find((f) => f.id === flowId);
      if (!flow) return undefined;
      return {
        id: flow.id,
        name: flow.name,
        kind: flow.kind,
        etag: flow.etag,
        selectors: flow.selectors.map((s) => String(s.value.id)),
        segmentSelectors: structuredClone(flow.selectors),
      };
    },
  };
}
