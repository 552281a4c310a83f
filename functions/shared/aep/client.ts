// The AEP client over HTTP: IMS auth, Platform headers, retries, and the write paths that must never apply
// twice (docs/architecture.md#retries-and-idempotency). Knows nothing of AWS or middy.
import type { AepApi, AepUpkeepApi, CreateAudienceResult, ExtendTtlResult } from './api.ts';
import { exportSchedule } from './batch-export.ts';
import { INVALID_TOKEN_CODE, parseAepErrorBody } from './error-body.ts';
import {
  AepAmbiguousWriteError,
  type AepError,
  AepNotFoundError,
  AepRequestError,
  AepRunInProgressError,
  AepUnavailableError,
} from './errors.ts';
import {
  AepHttp,
  type AepLogger,
  type Answer,
  type Exchange,
  type HttpMethod,
  isOutage,
  isThrottled,
  isTransient,
  parseResponse,
  SecretScrubber,
  successOf,
} from './http.ts';
import { ImsTokenProvider, trimSlash } from './ims.ts';
import {
  audienceListingSchema,
  createAudienceResponseSchema,
  extendTtlResponseSchema,
  type FlowResponse,
  type FlowRunResponse,
  flowListSchema,
  flowRunResponseSchema,
  normalizeStatus,
  type OperationResponse,
  operationSchema,
  type RunResponse,
  runListSchema,
  runSchema,
} from './schemas.ts';
import type {
  AddToDataflowInput,
  AddToDataflowOutcome,
  AepCallRecord,
  AepCredentials,
  AudienceOperation,
  AudienceRun,
  CreateAudienceInput,
  FlowRun,
  FlowRunError,
  StartRunInput,
} from './types.ts';

export const DEFAULT_PLATFORM_URL = 'https://platform.adobe.io';
/** Re-GETs after a 412 before giving up: each 412 means someone else changed the flow in between. */
const MAX_STALE_ETAG_RETRIES = 5;

const ROUTES = {
  create: '/data/core/ais/external-audience/',
  operation: '/data/core/ais/external-audience/operations/{operationId}',
  operationPlural: '/data/core/ais/external-audiences/operations/{operationId}',
  runs: '/data/core/ais/external-audience/{audienceId}/runs',
  run: '/data/core/ais/external-audience/{audienceId}/runs/{runId}',
  extendTtl: '/data/core/ais/external-audience/extend-ttl/{audienceId}',
  audience: '/data/core/ais/external-audience/{audienceId}',
  audiences: '/data/core/ups/audiences',
  flow: '/data/foundation/flowservice/flows/{flowId}',
  flowRun: '/data/foundation/flowservice/runs/{runId}',
} as const;

/**
 * A Flow Service run is read only to explain a failure already known: two attempts of at most 10 s each, so
 * an outage delays the failure report by seconds, not by the client's full retry budget.
 */
const FLOW_RUN_READ = { maxAttempts: 2, timeoutMs: 10_000 } as const;

export interface AepClientOptions {
  credentials: AepCredentials;
  /** Default: the global fetch. */
  fetch?: typeof fetch;
  /** Default: setTimeout; tests pass a recorder. */
  sleep?: (ms: number) => Promise<void>;
  /** Milliseconds; default Date.now. */
  now?: () => number;
  /** Jitter source in [0, 1); default Math.random. */
  random?: () => number;
  /** Defaults 6 attempts, 1 s base, 60 s cap. */
  retry?: { maxAttempts?: number; baseDelayMs?: number; maxDelayMs?: number; maxRetryAfterMs?: number };
  /** Per HTTP attempt; default 30 s. */
  requestTimeoutMs?: number;
  /** One record per HTTP attempt (metrics, tests). */
  onCall?: (record: AepCallRecord) => void;
  logger?: AepLogger;
}

interface PlatformRequest {
  method: HttpMethod;
  route: string;
  /** The real path, ids already encoded. */
  path: string;
  query?: Record<string, string>;
  body?: unknown;
  ifMatch?: string;
  timeoutMs?: number;
}

/** An etag quoted exactly once: `"abc"` stays, `abc` becomes `"abc"`, `""abc""` becomes `"abc"`. */
export function quoteEtag(etag: string): string {
  const bare = etag.trim().replace(/^"+/, '').replace(/"+$/, '');
  return `"${bare}"`;
}

/** The V6 create body (docs/aep.md#external-audiences), with only the keys the input sets. */
export function buildCreateAudienceBody(input: CreateAudienceInput, baseConnectionId: string): object {
  if (!Number.isInteger(input.ttlInDays)) {
    throw new AepRequestError(`ttlInDays must be a whole number of days, got ${input.ttlInDays}`);
  }
  const body: Record<string, unknown> = { name: input.name };
  if (input.description !== undefined) body['description'] = input.description;
  body['fields'] = input.fields.map((field) => {
    const out: Record<string, unknown> = { name: field.name, type: field.type };
    if (field.identityNs !== undefined) out['identityNs'] = field.identityNs;
    if (field.labels !== undefined) out['labels'] = field.labels;
    return out;
  });
  body['sourceSpec'] = {
    params: {
      path: input.sourcePath,
      type: input.sourceType,
      sourceType: 'Cloud Storage',
      cloudType: 'S3',
      baseConnectionId,
    },
  };
  body['ttlInDays'] = input.ttlInDays;
  if (input.labels !== undefined) body['labels'] = input.labels;
  body['audienceType'] = 'people';
  body['originName'] = 'CUSTOM_UPLOAD';
  return body;
}

export class AepClient implements AepApi, AepUpkeepApi {
  private readonly credentials: AepCredentials;
  private readonly http: AepHttp;
  private readonly ims: ImsTokenProvider;
  private readonly platformUrl: string;

  constructor(options: AepClientOptions) {
    this.credentials = options.credentials;
    const scrubber = new SecretScrubber();
    scrubber.add(options.credentials.clientSecret);
    this.http = new AepHttp(
      {
        fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
        sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
        now: options.now ?? Date.now,
        random: options.random ?? Math.random,
        retry: {
          maxAttempts: Math.max(1, options.retry?.maxAttempts ?? 6),
          baseDelayMs: options.retry?.baseDelayMs ?? 1000,
          maxDelayMs: options.retry?.maxDelayMs ?? 60_000,
          // Backoff is ours to scale; AEP's Retry-After is not: it is honoured up to a minute whatever
          // maxDelayMs.
          maxRetryAfterMs: options.retry?.maxRetryAfterMs ?? 60_000,
        },
        requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
        onCall: options.onCall,
        logger: options.logger,
      },
      scrubber,
    );
    this.ims = new ImsTokenProvider(options.credentials, this.http);
    this.platformUrl = trimSlash(options.credentials.platformUrl ?? DEFAULT_PLATFORM_URL);
  }

  async createAudience(input: CreateAudienceInput): Promise<CreateAudienceResult> {
    const request: PlatformRequest = {
      method: 'POST',
      route: ROUTES.create,
      path: ROUTES.create,
      body: buildCreateAudienceBody(input, this.credentials.baseConnectionId),
    };
    const label = labelOf(request);
    let ambiguous = false;
    for (let attempt = 1; ; attempt++) {
      const answer = await this.sendWrite(request, attempt, ambiguous);
      const success = successOf(answer);
      if (success) {
        const { operationId } = parseResponse(createAudienceResponseSchema, label, success);
        return { kind: 'STARTED', operationId };
      }
      // Our own name, refused as a duplicate right after an attempt whose fate we never learnt: it took
      // effect.
      if (ambiguous && answer.kind === 'response' && answer.status === 409)
        return { kind: 'ALREADY_CREATED' };
      ambiguous ||= isOutage(answer);
      if (isTransient(answer) && (await this.http.waitForRetry(label, attempt, answer))) continue;
      throw this.writeFailure(label, answer, ambiguous);
    }
  }

  async getOperation(operationId: string): Promise<AudienceOperation> {
    const id = encodeURIComponent(operationId);
    let answer: Answer;
    try {
      answer = await this.read({ method: 'GET', route: ROUTES.operation, path: fill(ROUTES.operation, id) });
    } catch (error) {
      if (!(error instanceof AepNotFoundError)) throw error;
      // The API-format line of the docs says plural, every example singular
      // (docs/aep.md#where-adobes-docs-disagree, item 1).
      answer = await this.read({
        method: 'GET',
        route: ROUTES.operationPlural,
        path: fill(ROUTES.operationPlural, id),
      });
    }
    return toOperation(parseResponse(operationSchema, `GET ${ROUTES.operation}`, answer));
  }

  async findAudienceByName(name: string): Promise<{ audienceId: string; name: string } | undefined> {
    const request: PlatformRequest = {
      method: 'GET',
      route: ROUTES.audiences,
      path: ROUTES.audiences,
      query: { property: `name==${name}` },
    };
    const listing = parseResponse(audienceListingSchema, labelOf(request), await this.read(request));
    const wanted = name.toLowerCase();
    const match = listing.children.find((audience) => audience.name.toLowerCase() === wanted);
    return match ? { audienceId: match.id, name: match.name } : undefined;
  }

  async startRun(audienceId: string, input: StartRunInput): Promise<AudienceRun> {
    const body: Record<string, number> = { dataFilterStartTime: input.dataFilterStartTime };
    if (input.dataFilterEndTime !== undefined) body['dataFilterEndTime'] = input.dataFilterEndTime;
    const request: PlatformRequest = {
      method: 'POST',
      route: ROUTES.runs,
      path: fill(ROUTES.runs, encodeURIComponent(audienceId)),
      body,
    };
    const label = labelOf(request);
    let ambiguous = false;
    for (let attempt = 1; ; attempt++) {
      if (ambiguous) {
        const adopted = await this.findOurRun(audienceId, input, label);
        if (adopted) return adopted;
      }
      const answer = await this.sendWrite(request, attempt, ambiguous);
      const success = successOf(answer);
      if (success) return toRun(parseResponse(runSchema, label, success), audienceId);
      if (ambiguous && answer.kind === 'response' && answer.status === 422) {
        const refusal = this.http.errorFor(label, answer);
        // "A run is in progress" right after our unanswered POST: most likely ours.
        if (refusal instanceof AepRunInProgressError) {
          const adopted = await this.findOurRun(audienceId, input, label);
          if (adopted) return adopted;
        }
        throw refusal;
      }
      ambiguous ||= isOutage(answer);
      if (isTransient(answer) && (await this.http.waitForRetry(label, attempt, answer))) continue;
      throw this.writeFailure(label, answer, ambiguous);
    }
  }

  async getRun(audienceId: string, runId: string): Promise<AudienceRun> {
    const request: PlatformRequest = {
      method: 'GET',
      route: ROUTES.run,
      path: fill(fill(ROUTES.run, encodeURIComponent(audienceId)), encodeURIComponent(runId)),
    };
    return toRun(parseResponse(runSchema, labelOf(request), await this.read(request)), audienceId);
  }

  async listRuns(audienceId: string): Promise<AudienceRun[]> {
    const request: PlatformRequest = {
      method: 'GET',
      route: ROUTES.runs,
      path: fill(ROUTES.runs, encodeURIComponent(audienceId)),
    };
    const { runs } = parseResponse(runListSchema, labelOf(request), await this.read(request));
    return runs.map((run) => toRun(run, audienceId));
  }

  async getFlowRun(flowRunId: string): Promise<FlowRun> {
    const request: PlatformRequest = {
      method: 'GET',
      route: ROUTES.flowRun,
      path: fill(ROUTES.flowRun, encodeURIComponent(flowRunId)),
      timeoutMs: FLOW_RUN_READ.timeoutMs,
    };
    const answer = await this.read(request, FLOW_RUN_READ.maxAttempts);
    return toFlowRun(parseResponse(flowRunResponseSchema, labelOf(request), answer));
  }

  async addAudienceToDataflow(input: AddToDataflowInput): Promise<AddToDataflowOutcome> {
    const path = fill(ROUTES.flow, encodeURIComponent(input.flowId));
    const patchLabel = `PATCH ${ROUTES.flow}`;
    let ambiguous = false;
    let staleEtags = 0;
    let writeAttempt = 0;
    for (;;) {
      const flow = await this.readFlow(path, ambiguous, patchLabel);
      const plan = selectorPatch(flow, input);
      if (plan.kind === 'DONE') {
        // After an ambiguous write, a flow that needs nothing more is our write having landed.
        if (!ambiguous || plan.outcome === 'NOT_PRESENT') return plan.outcome;
        return input.replacesAudienceIds?.length ? 'REPLACED' : 'ADDED';
      }
      const request: PlatformRequest = {
        method: 'PATCH',
        route: ROUTES.flow,
        path,
        body: plan.body,
        ifMatch: quoteEtag(flow.etag),
      };
      for (;;) {
        writeAttempt++;
        const answer = await this.sendWrite(request, writeAttempt, ambiguous);
        if (successOf(answer)) return plan.outcome;
        if (answer.kind === 'response' && answer.status === 412) {
          staleEtags++;
          if (staleEtags > MAX_STALE_ETAG_RETRIES) throw this.http.errorFor(patchLabel, answer);
          this.http.settings.logger?.info('Dataflow changed since it was read; reading it again', {
            route: patchLabel,
            staleEtags,
          });
          break;
        }
        // A 429 applied nothing: the same PATCH with the same etag is safe.
        if (isThrottled(answer) && (await this.http.waitForRetry(patchLabel, writeAttempt, answer))) continue;
        if (isOutage(answer)) {
          ambiguous = true;
          // Unknown whether the change went in: look at the flow before writing again.
          if (await this.http.waitForRetry(patchLabel, writeAttempt, answer)) break;
        }
        throw this.writeFailure(patchLabel, answer, ambiguous);
      }
    }
  }

  async extendTtl(audienceId: string): Promise<ExtendTtlResult> {
    const request: PlatformRequest = {
      method: 'POST',
      route: ROUTES.extendTtl,
      path: fill(ROUTES.extendTtl, encodeURIComponent(audienceId)),
    };
    // Sent again after an unanswered attempt: a second extension only moves the expiry further (and costs a
    // re-ingestion), which beats an audience that lapses because one answer was lost.
    const success = await this.read(request);
    const body =
      success.body === undefined ? {} : parseResponse(extendTtlResponseSchema, labelOf(request), success);
    return { audienceId: body.audienceId ?? audienceId, ...(body.name ? { name: body.name } : {}) };
  }

  async deleteAudience(audienceId: string): Promise<'DELETED' | 'NOT_FOUND'> {
    const request: PlatformRequest = {
      method: 'DELETE',
      route: ROUTES.audience,
      path: fill(ROUTES.audience, encodeURIComponent(audienceId)),
    };
    try {
      await this.read(request);
      return 'DELETED';
    } catch (error) {
      // Gone: never created here, deleted by hand, or by an earlier attempt whose answer was lost.
      if (error instanceof AepNotFoundError) return 'NOT_FOUND';
      throw error;
    }
  }

  async removeAudienceFromDataflow(flowId: string, audienceId: string): Promise<'REMOVED' | 'NOT_PRESENT'> {
    const path = fill(ROUTES.flow, encodeURIComponent(flowId));
    const patchLabel = `PATCH ${ROUTES.flow}`;
    let staleEtags = 0;
    let writeAttempt = 0;
    let ambiguous = false;
    for (;;) {
      const flow = await this.readFlow(path, ambiguous, patchLabel);
      const selectors = flow.transformations[0]?.params?.segmentSelectors?.selectors ?? [];
      const indexes = selectors.flatMap((selector, index) =>
        selector.value?.id === audienceId ? [index] : [],
      );
      // After an unanswered PATCH, a flow without the audience is that PATCH having landed.
      if (indexes.length === 0) return ambiguous ? 'REMOVED' : 'NOT_PRESENT';
      const request: PlatformRequest = {
        method: 'PATCH',
        route: ROUTES.flow,
        path,
        // Highest index first, so that each removal leaves the indexes still to remove where they were.
        body: [...indexes].reverse().map((index) => ({ op: 'remove', path: `${SELECTORS_PATH}/${index}` })),
        ifMatch: quoteEtag(flow.etag),
      };
      for (;;) {
        writeAttempt++;
        const answer = await this.sendWrite(request, writeAttempt, ambiguous);
        if (successOf(answer)) return 'REMOVED';
        if (answer.kind === 'response' && answer.status === 412) {
          staleEtags++;
          if (staleEtags > MAX_STALE_ETAG_RETRIES) throw this.http.errorFor(patchLabel, answer);
          break;
        }
        if (isThrottled(answer) && (await this.http.waitForRetry(patchLabel, writeAttempt, answer))) continue;
        if (isOutage(answer)) {
          ambiguous = true;
          if (await this.http.waitForRetry(patchLabel, writeAttempt, answer)) break;
        }
        throw this.writeFailure(patchLabel, answer, ambiguous);
      }
    }
  }

  /**
   * A request whose repeat is harmless (a GET, extend-ttl, a DELETE), with retries on 429/502/503/504 and
   * network failures; any other failure throws its typed error. `maxAttempts` lowers the client's own limit.
   */
  private async read(request: PlatformRequest, maxAttempts?: number): Promise<Answer> {
    const label = labelOf(request);
    for (let attempt = 1; ; attempt++) {
      const answer = await this.send(request, attempt);
      const success = successOf(answer);
      if (success) return success;
      const mayRetry = maxAttempts === undefined || attempt < maxAttempts;
      if (isTransient(answer) && mayRetry && (await this.http.waitForRetry(label, attempt, answer))) continue;
      throw this.http.errorFor(label, answer);
    }
  }

  private async readFlow(path: string, ambiguous: boolean, patchLabel: string): Promise<FlowResponse> {
    const request: PlatformRequest = { method: 'GET', route: ROUTES.flow, path };
    try {
      const { items } = parseResponse(flowListSchema, labelOf(request), await this.read(request));
      // items has at least one element: the schema says so.
      return items[0]!;
    } catch (error) {
      throw ambiguous ? this.unresolved(patchLabel, error) : error;
    }
  }

  /** Lists the audience's runs and returns one started with our very data filter window, if any. */
  private async findOurRun(
    audienceId: string,
    input: StartRunInput,
    label: string,
  ): Promise<AudienceRun | undefined> {
    let runs: AudienceRun[];
    try {
      runs = await this.listRuns(audienceId);
    } catch (error) {
      throw this.unresolved(label, error);
    }
    const match = runs.find(
      (run) =>
        run.dataFilterStartTime === input.dataFilterStartTime &&
        (input.dataFilterEndTime === undefined || run.dataFilterEndTime === input.dataFilterEndTime) &&
        !input.claimedRunIds?.includes(run.runId),
    );
    if (match)
      this.http.settings.logger?.info('Adopted the run an unanswered request started', { route: label });
    return match;
  }

  /** A write's attempt; once the write is ambiguous, even a failed token request leaves it unresolved. */
  private async sendWrite(request: PlatformRequest, attempt: number, ambiguous: boolean): Promise<Exchange> {
    try {
      return await this.send(request, attempt);
    } catch (error) {
      throw ambiguous ? this.unresolved(labelOf(request), error) : error;
    }
  }

  /**
   * One attempt with a token; an answer that calls the token invalid (the gateway's 401 `401013`, or the
   * external audiences API's 400 `100911`) gets one fresh token and one resend.
   */
  private async send(request: PlatformRequest, attempt: number): Promise<Exchange> {
    const token = await this.ims.token();
    const answer = await this.http.exchange(this.toExchange(request, token, attempt));
    if (!isInvalidToken(answer)) return answer;
    this.ims.invalidate(token);
    const freshToken = await this.ims.token();
    return this.http.exchange(this.toExchange(request, freshToken, attempt));
  }

  private toExchange(request: PlatformRequest, token: string, attempt: number) {
    const headers: Record<string, string> = {
      Authorization: `Bearer ${token}`,
      'x-api-key': this.credentials.clientId,
      'x-gw-ims-org-id': this.credentials.orgId,
      'x-sandbox-name': this.credentials.sandboxName,
      Accept: 'application/json',
    };
    if (request.method !== 'GET') headers['Content-Type'] = 'application/json';
    if (request.ifMatch !== undefined) headers['If-Match'] = request.ifMatch;
    const query = request.query
      ? `?${Object.entries(request.query)
          .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`)
          .join('&')}`
      : '';
    return {
      method: request.method,
      url: `${this.platformUrl}${request.path}${query}`,
      route: request.route,
      headers,
      ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
      ...(request.timeoutMs === undefined ? {} : { timeoutMs: request.timeoutMs }),
      attempt,
    };
  }

  /** The error of a write that failed for good; ambiguous when an earlier attempt may have applied it. */
  private writeFailure(label: string, answer: Exchange, ambiguous: boolean): AepError {
    const error = this.http.errorFor(label, answer);
    return ambiguous && error instanceof AepUnavailableError ? this.unresolved(label, error) : error;
  }

  private unresolved<E>(label: string, error: E): E | AepAmbiguousWriteError {
    if (!(error instanceof AepUnavailableError)) return error;
    return new AepAmbiguousWriteError(
      `AEP ${label} may or may not have been applied, and AEP stayed unavailable while the client checked: ${error.message}`,
      {
        status: error.status,
        aepCode: error.aepCode,
        route: label,
        detail: error.detail,
        retryAfterSeconds: error.retryAfterSeconds,
        cause: error,
      },
    );
  }
}

/**
 * AEP says the token is not (or no longer) good: the Adobe I/O gateway's 401 `401013`
 * (AdobeDocs/experience-platform.en help/landing/troubleshooting.md, "OAuth token is not valid"), or the
 * external audiences API's 400 `100911` ("an invalid token is provided", the error-code appendix of
 * help/segmentation/api/external-audiences.md in AdobeDocs/experience-platform.fr-FR and .de-DE). A `100911`
 * keeps its 400 status: nothing else tells it from a request AEP found wrong, so only the code does.
 */
function isInvalidToken(answer: Exchange): boolean {
  if (answer.kind !== 'response') return false;
  const { code } = parseAepErrorBody(answer.body);
  return (
    (answer.status === 401 && code === '401013') || (answer.status === 400 && code === INVALID_TOKEN_CODE)
  );
}

function labelOf(request: PlatformRequest): string {
  return `${request.method} ${request.route}`;
}

/** Replaces the first `{placeholder}` of a route template. */
function fill(route: string, value: string): string {
  return route.replace(/\{[^}]+\}/, value);
}

function selectorValue(input: AddToDataflowInput): Record<string, unknown> {
  const value: Record<string, unknown> = { id: input.audienceId };
  if (input.audienceName !== undefined) value['name'] = input.audienceName;
  if (input.batch) {
    value['filenameTemplate'] = input.batch.filenameTemplate;
    value['exportMode'] = input.batch.exportMode;
    // triggerType only with DAILY_FULL_EXPORT (update-destination-dataflows.md, see batch-export.ts).
    value['schedule'] = exportSchedule(input.batch);
  }
  return value;
}

const SELECTORS_PATH = '/transformations/0/params/segmentSelectors/selectors';
/** What a batch selector carries besides the audience; a replacing selector without `batch` takes them over. */
const EXPORT_SETTINGS = ['filenameTemplate', 'exportMode', 'schedule'] as const;

type SelectorPatch =
  | { kind: 'DONE'; outcome: AddToDataflowOutcome }
  | { kind: 'PATCH'; body: Record<string, unknown>[]; outcome: AddToDataflowOutcome };

/**
 * The JSON-Patch that brings this version of the flow to "selects `audienceId`, none of
 * `replacesAudienceIds`". Indexes are of this version: the PATCH carries its etag, so a changed flow answers
 * 412 and is read again.
 */
function selectorPatch(flow: FlowResponse, input: AddToDataflowInput): SelectorPatch {
  const selectors = flow.transformations[0]?.params?.segmentSelectors?.selectors ?? [];
  const present = selectors.some((selector) => selector.value?.id === input.audienceId);
  const replaced = new Set(input.replacesAudienceIds ?? []);
  const oldIndexes = selectors.flatMap((selector, index) =>
    selector.value?.id !== undefined && replaced.has(selector.value.id) ? [index] : [],
  );
  if (oldIndexes.length === 0) {
    if (present) return { kind: 'DONE', outcome: 'ALREADY_PRESENT' };
    if (input.onlyWhereReplaced) return { kind: 'DONE', outcome: 'NOT_PRESENT' };
    const value = { type: 'PLATFORM_SEGMENT', value: selectorValue(input) };
    return { kind: 'PATCH', outcome: 'ADDED', body: [{ op: 'add', path: `${SELECTORS_PATH}/-`, value }] };
  }
  const body: Record<string, unknown>[] = [];
  let removed = oldIndexes;
  if (!present) {
    // `replace` needs the whole selector: the new audience, with the old one's export settings unless given.
    const [first = 0, ...rest] = oldIndexes;
    const value = selectorValue(input);
    const old = selectors[first]?.value ?? {};
    if (!input.batch) {
      for (const setting of EXPORT_SETTINGS) if (old[setting] !== undefined) value[setting] = old[setting];
    }
    body.push({
      op: 'replace',
      path: `${SELECTORS_PATH}/${first}`,
      value: { type: 'PLATFORM_SEGMENT', value },
    });
    removed = rest;
  }
  // Highest index first, so that each removal leaves the indexes still to remove where they were.
  for (const index of [...removed].reverse()) body.push({ op: 'remove', path: `${SELECTORS_PATH}/${index}` });
  return { kind: 'PATCH', outcome: 'REPLACED', body };
}

function toOperation(response: OperationResponse): AudienceOperation {
  const operation: AudienceOperation = {
    operationId: response.operationId,
    status: normalizeStatus(response.status),
  };
  if (response.audienceId !== undefined) operation.audienceId = response.audienceId;
  if (response.audienceName !== undefined) operation.audienceName = response.audienceName;
  if (operation.status === 'FAILED') {
    const reason = [response.failureReason, response.errorMessage, response.error, ...(response.errors ?? [])]
      .map((candidate) => (typeof candidate === 'string' ? candidate : candidate?.message))
      .find((text) => text !== undefined && text.trim() !== '');
    const failureReason = reason ?? response.message;
    if (failureReason !== undefined) operation.failureReason = failureReason;
  }
  return operation;
}

/**
 * The reason text AEP may put on a failed run or stage; the field is undocumented, so the usual names are
 * read, then the messages of an `errors` list.
 */
function reasonOf(value: Record<string, unknown>): string | undefined {
  const listed = Array.isArray(value.errors)
    ? value.errors.map((error: unknown) =>
        typeof error === 'string' ? error : (error as { message?: unknown } | null)?.message,
      )
    : [];
  const text = [value.failureReason, value.errorMessage, value.message, ...listed].find(
    (candidate): candidate is string => typeof candidate === 'string' && candidate.trim() !== '',
  );
  return text?.trim();
}

function toRun(response: RunResponse, audienceId: string): AudienceRun {
  const run: AudienceRun = {
    audienceId: response.audienceId ?? audienceId,
    runId: response.runId,
    status: normalizeStatus(response.status),
    details: (response.details ?? []).map((stage) => {
      const out: AudienceRun['details'][number] = { stage: stage.stage, status: stage.status };
      if (stage.flowRunId !== undefined) out.flowRunId = stage.flowRunId;
      const stageReason = reasonOf(stage);
      if (stageReason !== undefined) out.failureReason = stageReason;
      return out;
    }),
  };
  if (response.dataFilterStartTime !== undefined) run.dataFilterStartTime = response.dataFilterStartTime;
  if (response.dataFilterEndTime !== undefined) run.dataFilterEndTime = response.dataFilterEndTime;
  if (response.createdAt !== undefined) run.createdAt = response.createdAt;
  const reason = reasonOf(response);
  if (reason !== undefined) run.failureReason = reason;
  return run;
}

/** The run's status and its errors (the run's own, then each activity's), each code and message once. */
function toFlowRun(response: FlowRunResponse): FlowRun {
  const summaries = [
    response.metrics?.statusSummary,
    ...(response.activities ?? []).map((activity) => activity.statusSummary),
  ];
  const seen = new Set<string>();
  const errors: FlowRunError[] = [];
  for (const summary of summaries) {
    for (const error of [...(summary?.errors ?? []), ...(summary?.extensions?.errors ?? [])]) {
      const code = error.code?.trim() || undefined;
      const message = error.message?.trim() || code;
      if (message === undefined) continue;
      const key = `${code ?? ''}\u0000${message}`;
      if (seen.has(key)) continue;
      seen.add(key);
      errors.push(code === undefined ? { message } : { code, message });
    }
  }
  const run: FlowRun = { id: response.id, errors };
  const status = response.metrics?.statusSummary?.status;
  if (status !== undefined) run.status = status;
  return run;
}
