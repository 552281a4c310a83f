// The simulator's route table: `METHOD /path/template` → handler, matched segment by segment.
import {
  createAudience,
  deleteAudience,
  extendTtl,
  getAudience,
  getOperation,
  listUpsAudiences,
  patchAudience,
} from './audiences.ts';
import type { SimContext } from './context.ts';
import { getFlow, listFlowRuns, patchFlow } from './flows.ts';
import type { SimRequest, SimResponse } from './http.ts';
import { getFlowServiceRun, getRun, listRuns, startRun } from './runs.ts';

export type Handler = (ctx: SimContext, req: SimRequest) => SimResponse | Promise<SimResponse>;

interface Route {
  method: string;
  template: string;
  segments: string[];
  handler: Handler;
}

const AIS = '/data/core/ais';
const FLOWS = '/data/foundation/flowservice';

function route(method: string, template: string, handler: Handler): Route {
  return { method, template, segments: template.split('/').filter(Boolean), handler };
}

/** Literal routes come before `{id}` ones that could shadow them. */
const ROUTES: Route[] = [
  route('POST', `${AIS}/external-audience/`, createAudience),
  route('GET', `${AIS}/external-audience/operations/{id}`, getOperation),
  route('GET', `${AIS}/external-audiences/operations/{id}`, getOperation),
  route('POST', `${AIS}/external-audience/extend-ttl/{id}`, extendTtl),
  route('POST', `${AIS}/external-audience/{id}/runs`, startRun),
  route('GET', `${AIS}/external-audience/{id}/runs`, listRuns),
  route('GET', `${AIS}/external-audience/{id}/runs/{id}`, getRun),
  route('GET', `${AIS}/external-audience/{id}`, getAudience),
  route('PATCH', `${AIS}/external-audience/{id}`, patchAudience),
  route('DELETE', `${AIS}/external-audience/{id}`, deleteAudience),
  route('GET', '/data/core/ups/audiences', listUpsAudiences),
  route('GET', `${FLOWS}/flows/{id}`, getFlow),
  route('PATCH', `${FLOWS}/flows/{id}`, patchFlow),
  route('GET', `${FLOWS}/runs`, listFlowRuns),
  route('GET', `${FLOWS}/runs/{id}`, getFlowServiceRun),
];

export interface MatchedRoute {
  /** `METHOD /path/template`, e.g. `GET /data/core/ais/external-audience/operations/{id}`. */
  name: string;
  handler: Handler;
  params: string[];
}

export function matchRoute(method: string, path: string): MatchedRoute | undefined {
  // Trailing slashes are optional (the create route is documented with one, docs/aep.md#external-audiences).
  const segments = path.split('/').filter(Boolean).map(decodeURIComponent);
  for (const candidate of ROUTES) {
    if (candidate.method !== method || candidate.segments.length !== segments.length) continue;
    const params: string[] = [];
    const matches = candidate.segments.every((part, index) => {
      const actual = segments[index] ?? '';
      if (part === '{id}') {
        params.push(actual);
        return actual !== '';
      }
      return part === actual;
    });
    if (matches) return { name: `${method} ${candidate.template}`, handler: candidate.handler, params };
  }
  return undefined;
}
