// AepClient against a scripted fetch: auth, headers, request bodies, response parsing, write ambiguity.
import { afterEach, describe, expect, it } from 'vitest';
import { buildCreateAudienceBody, quoteEtag } from '../../functions/shared/aep/client.ts';
import {
  AepAmbiguousWriteError,
  AepAuthError,
  AepConflictError,
  AepNotFoundError,
  AepPreconditionFailedError,
  AepRequestError,
  AepResponseError,
  AepRunInProgressError,
  AepUnavailableError,
} from '../../functions/shared/aep/errors.ts';
import type { CreateAudienceInput } from '../../functions/shared/aep/types.ts';
import {
  failureOf,
  type Harness,
  harness,
  SECRET_MARKER,
  TOKEN_MARKER,
  visibleText,
} from './support/aep-client-harness.ts';
import { jsonOf } from './support/scripted-fetch.ts';

const AIS = '/data/core/ais/external-audience';
const FLOW = '/data/foundation/flowservice/flows/flow-1';
const RUNS = `${AIS}/aud-1/runs`;

const createInput: CreateAudienceInput = {
  name: 'teamA/spring-churn',
  description: 'Customers at risk',
  fields: [
    { name: 'email', type: 'string', identityNs: 'Email', labels: ['core/C2'] },
    { name: 'score', type: 'number' },
  ],
  sourcePath: 'drop-bucket/staging/audiences/teama-spring-churn',
  sourceType: 'folder',
  ttlInDays: 30,
  labels: ['core/C1'],
};

function flowBody(etag: string, selectorIds: string[] = []) {
  return {
    items: [
      {
        id: 'flow-1',
        etag,
        transformations: [
          {
            name: 'GeneralTransform',
            params: {
              profileSelectors: { selectors: [] },
              segmentSelectors: {
                selectors: selectorIds.map((id) => ({ type: 'PLATFORM_SEGMENT', value: { id } })),
              },
            },
          },
        ],
      },
    ],
  };
}

const runAnswer = {
  audienceName: 'teamA/spring-churn',
  audienceId: 'aud-1',
  runId: 'run-1',
  differentialIngestion: true,
  dataFilterStartTime: 1_780_000_000,
  dataFilterEndTime: 1_780_000_600,
  createdAt: 1_780_000_700,
  'createdBy:': 'tech-account',
};

let h: Harness;
afterEach(() => {
  expect(h.script.problems).toEqual([]);
  expect(h.script.remaining).toBe(0);
});

describe('IMS tokens', () => {
  it('asks IMS with a form body and caches the token until 5 minutes before it expires', async () => {
    h = harness();
    h.script.onToken({ status: 200, body: { access_token: 'TOKEN-MARKER-A', expires_in: 3600 } });
    for (let i = 0; i < 3; i++) h.script.on('GET', `${RUNS}/run-1`, { status: 200, body: runAnswer });

    await h.client.getRun('aud-1', 'run-1');
    h.clock.now += 3600_000 - 5 * 60_000 - 1;
    await h.client.getRun('aud-1', 'run-1');
    expect(h.script.tokenRequests).toHaveLength(1);
    h.clock.now += 1;
    await h.client.getRun('aud-1', 'run-1');

    expect(h.script.tokenRequests).toHaveLength(2);
    const first = h.script.tokenRequests[0]!;
    expect(first.method).toBe('POST');
    expect(first.url.href).toBe('https://ims.test/ims/token/v3');
    expect(first.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(new URLSearchParams(first.body))).toEqual({
      grant_type: 'client_credentials',
      client_id: 'client-id-1',
      client_secret: SECRET_MARKER,
      scope: 'openid,AdobeID,read_organizations,additional_info.projectedProductContext,session',
    });
    expect(h.script.requests.map((r) => r.headers['authorization'])).toEqual([
      'Bearer TOKEN-MARKER-A',
      'Bearer TOKEN-MARKER-A',
      'Bearer TOKEN-MARKER-2',
    ]);
  });

  it('shares one token request between concurrent calls', async () => {
    h = harness();
    h.script.on('GET', `${RUNS}/run-1`, { status: 200, body: runAnswer });
    h.script.on('GET', `${RUNS}/run-1`, { status: 200, body: runAnswer });
    await Promise.all([h.client.getRun('aud-1', 'run-1'), h.client.getRun('aud-1', 'run-1')]);
    expect(h.script.tokenRequests).toHaveLength(1);
  });

  it('renews the token once on a 401013 and repeats the call', async () => {
    h = harness();
    h.script.on('GET', `${RUNS}/run-1`, {
      status: 401,
      body: { error_code: 401013, message: 'Oauth token is not valid' },
    });
    h.script.on('GET', `${RUNS}/run-1`, { status: 200, body: runAnswer });
    const run = await h.client.getRun('aud-1', 'run-1');
    expect(run.runId).toBe('run-1');
    expect(h.script.tokenRequests).toHaveLength(2);
    expect(h.script.requests.map((r) => r.headers['authorization'])).toEqual([
      'Bearer TOKEN-MARKER-1',
      'Bearer TOKEN-MARKER-2',
    ]);
  });

  it('gives up with AepAuthError when the fresh token is refused too', async () => {
    h = harness();
    const expired = { status: 401, body: { error_code: '401013', message: 'Oauth token is not valid' } };
    h.script.on('GET', `${RUNS}/run-1`, expired).on('GET', `${RUNS}/run-1`, expired);
    const error = await failureOf(h.client.getRun('aud-1', 'run-1'));
    expect(error).toBeInstanceOf(AepAuthError);
    expect(h.script.tokenRequests).toHaveLength(2);
  });

  it.each([
    [401, 'invalid_client'],
    [400, 'invalid_scope'],
  ])('turns an IMS %i %s into AepAuthError naming the code, never the secret', async (status, code) => {
    h = harness();
    h.script.onToken({
      status,
      body: { error: code, error_description: `client_secret ${SECRET_MARKER} was rejected` },
    });
    const error = await failureOf(h.client.listRuns('aud-1'));
    expect(error).toBeInstanceOf(AepAuthError);
    expect(error.message).toContain(code);
    expect(visibleText(error)).not.toContain(SECRET_MARKER);
    expect(h.script.requests).toHaveLength(0);
  });

  it.each(['403010', '403003', '403000', '403025'])('maps gateway code %s to AepAuthError', async (code) => {
    h = harness();
    h.script.on('GET', RUNS, { status: 403, body: { error_code: code, message: 'Forbidden' } });
    const error = await failureOf(h.client.listRuns('aud-1'));
    expect(error).toBeInstanceOf(AepAuthError);
    expect((error as AepAuthError).aepCode).toBe(code);
  });

  // The external audiences API's own "invalid token": 400 with code 100911 (its error-code appendix).
  const invalidToken = {
    status: 400,
    body: {
      type: 'https://ns.adobe.com/aep/errors/100911-400',
      title: 'BAD_REQUEST',
      status: 400,
      detail: 'An invalid token is provided',
      report: { code: '100911-400' },
    },
  };

  it('renews the token once on a 400 100911 and repeats the call, a write as well as a read', async () => {
    h = harness();
    h.script.on('GET', `${RUNS}/run-1`, invalidToken);
    h.script.on('GET', `${RUNS}/run-1`, { status: 200, body: runAnswer });
    h.script.on('POST', RUNS, invalidToken);
    h.script.on('POST', RUNS, { status: 200, body: { ...runAnswer, runId: 'run-2' } });
    expect((await h.client.getRun('aud-1', 'run-1')).runId).toBe('run-1');
    expect((await h.client.startRun('aud-1', { dataFilterStartTime: 1_767_225_600 })).runId).toBe('run-2');
    expect(h.script.tokenRequests).toHaveLength(3);
    expect(h.script.requests.map((r) => r.headers['authorization'])).toEqual([
      'Bearer TOKEN-MARKER-1',
      'Bearer TOKEN-MARKER-2',
      'Bearer TOKEN-MARKER-2',
      'Bearer TOKEN-MARKER-3',
    ]);
    expect(h.script.problems).toEqual([]);
  });

  it('gives up with AepAuthError, not a rejected request, when the fresh token gets 100911 too', async () => {
    h = harness();
    h.script.on('POST', RUNS, invalidToken).on('POST', RUNS, invalidToken);
    const error = await failureOf(h.client.startRun('aud-1', { dataFilterStartTime: 1_767_225_600 }));
    expect(error).toBeInstanceOf(AepAuthError);
    expect((error as AepAuthError).aepCode).toBe('100911');
    expect(h.script.tokenRequests).toHaveLength(2);
    expect(h.script.remaining).toBe(0);
  });

  it('leaves the token alone on other 400s: 100910 is a bad request', async () => {
    h = harness();
    h.script.on('POST', RUNS, {
      status: 400,
      body: { ...invalidToken.body, type: 'x/100910-400', report: { code: '100910-400' } },
    });
    const error = await failureOf(h.client.startRun('aud-1', { dataFilterStartTime: 1_767_225_600 }));
    expect(error).toBeInstanceOf(AepRequestError);
    expect(h.script.tokenRequests).toHaveLength(1);
  });

  it('maps a 401 other than 401013 to AepAuthError without renewing', async () => {
    h = harness();
    h.script.on('GET', RUNS, {
      status: 401,
      body: { type: 'x/100921-401', title: 'UNAUTHORIZED', status: 401 },
    });
    const error = await failureOf(h.client.listRuns('aud-1'));
    expect(error).toBeInstanceOf(AepAuthError);
    expect(h.script.tokenRequests).toHaveLength(1);
  });
});

describe('headers', () => {
  it('sends the Platform headers on every call, Content-Type only on writes', async () => {
    h = harness();
    h.script.on('POST', `${AIS}/`, { status: 202, body: { operationId: 'op-1' } });
    h.script.on('GET', RUNS, { status: 200, body: { runs: [] } });
    await h.client.createAudience(createInput);
    await h.client.listRuns('aud-1');
    const [post, get] = h.script.requests;
    const common = {
      authorization: 'Bearer TOKEN-MARKER-1',
      'x-api-key': 'client-id-1',
      'x-gw-ims-org-id': 'ORG1@AdobeOrg',
      'x-sandbox-name': 'dev-sandbox',
      accept: 'application/json',
      // The execution environment calling (this test process here, a Lambda log stream in AWS).
      'user-agent': `aep-audience-pipeline (process ${process.pid})`,
    };
    expect(post!.headers).toEqual({ ...common, 'content-type': 'application/json' });
    expect(get!.headers).toEqual(common);
    expect(post!.url.href).toBe('https://platform.test/data/core/ais/external-audience/');
  });

  it.each([
    ['"8b03-1"', '"8b03-1"'],
    ['8b03-2', '"8b03-2"'],
    ['""8b03-3""', '"8b03-3"'],
  ])('sends etag %s as If-Match %s', async (etag, ifMatch) => {
    h = harness();
    h.script.on('GET', FLOW, { status: 200, body: flowBody(etag) });
    h.script.on('PATCH', FLOW, { status: 200, body: { id: 'flow-1', etag: '"next"' } }, (r) => {
      expect(r.headers['if-match']).toBe(ifMatch);
      expect(r.headers['content-type']).toBe('application/json');
    });
    await expect(h.client.addAudienceToDataflow({ flowId: 'flow-1', audienceId: 'aud-1' })).resolves.toBe(
      'ADDED',
    );
    expect(quoteEtag(etag)).toBe(ifMatch);
  });
});

describe('createAudience', () => {
  it('posts exactly the V6 body and returns the operation id', async () => {
    h = harness();
    h.script.on('POST', `${AIS}/`, { status: 202, body: { operationId: 'op-1', operationDetails: {} } });
    await expect(h.client.createAudience(createInput)).resolves.toEqual({
      kind: 'STARTED',
      operationId: 'op-1',
    });
    expect(jsonOf(h.script.requests[0])).toEqual({
      name: 'teamA/spring-churn',
      description: 'Customers at risk',
      fields: [
        { name: 'email', type: 'string', identityNs: 'Email', labels: ['core/C2'] },
        { name: 'score', type: 'number' },
      ],
      sourceSpec: {
        params: {
          path: 'drop-bucket/staging/audiences/teama-spring-churn',
          type: 'folder',
          sourceType: 'Cloud Storage',
          cloudType: 'S3',
          baseConnectionId: 'base-conn-1',
        },
      },
      ttlInDays: 30,
      labels: ['core/C1'],
      audienceType: 'people',
      originName: 'CUSTOM_UPLOAD',
    });
  });

  it('leaves out the optional keys the input does not set', () => {
    const { description: _d, labels: _l, ...minimal } = createInput;
    const body = buildCreateAudienceBody(minimal, 'base') as Record<string, unknown>;
    expect(Object.keys(body)).toEqual([
      'name',
      'fields',
      'sourceSpec',
      'ttlInDays',
      'audienceType',
      'originName',
    ]);
    h = harness();
  });

  it.each([200, 201])('accepts %i as well as 202', async (status) => {
    h = harness();
    h.script.on('POST', `${AIS}/`, { status, body: { operationId: 'op-2' } });
    await expect(h.client.createAudience(createInput)).resolves.toEqual({
      kind: 'STARTED',
      operationId: 'op-2',
    });
  });

  it('refuses a fractional ttlInDays before calling AEP', async () => {
    h = harness();
    const error = await failureOf(h.client.createAudience({ ...createInput, ttlInDays: 7.5 }));
    expect(error).toBeInstanceOf(AepRequestError);
    expect(h.script.requests).toHaveLength(0);
  });

  it('throws AepConflictError on a plain 409', async () => {
    h = harness();
    h.script.on('POST', `${AIS}/`, {
      status: 409,
      body: { type: 'https://ns.adobe.com/aep/errors/100950-409', title: 'DUPLICATE_RESOURCE', status: 409 },
    });
    const error = await failureOf(h.client.createAudience(createInput));
    expect(error).toBeInstanceOf(AepConflictError);
    expect((error as AepConflictError).aepCode).toBe('100950');
  });

  it('reads a 409 after an unanswered attempt as ALREADY_CREATED', async () => {
    h = harness();
    h.script.on('POST', `${AIS}/`, { status: 503, body: 'upstream down' });
    h.script.on('POST', `${AIS}/`, { status: 409, body: { error_code: '100950-409', message: 'exists' } });
    await expect(h.client.createAudience(createInput)).resolves.toEqual({ kind: 'ALREADY_CREATED' });
    expect(h.sleeps).toHaveLength(1);
  });

  it('returns STARTED when the re-POST after a timeout is accepted', async () => {
    h = harness();
    h.script.on('POST', `${AIS}/`, { fail: 'timeout' });
    h.script.on('POST', `${AIS}/`, { status: 202, body: { operationId: 'op-3' } });
    await expect(h.client.createAudience(createInput)).resolves.toEqual({
      kind: 'STARTED',
      operationId: 'op-3',
    });
  });

  it('throws AepAmbiguousWriteError when AEP stays down after an unanswered attempt', async () => {
    h = harness({ retry: { maxAttempts: 3 } });
    h.script.on('POST', `${AIS}/`, { fail: 'network' });
    h.script.on('POST', `${AIS}/`, { status: 429, body: {} });
    h.script.on('POST', `${AIS}/`, { status: 504, body: {} });
    const error = await failureOf(h.client.createAudience(createInput));
    expect(error).toBeInstanceOf(AepAmbiguousWriteError);
    expect(error.message).toContain('POST /data/core/ais/external-audience/');
  });

  it('retries a 429 like a read and reports AepUnavailableError when throttling never stops', async () => {
    h = harness({ retry: { maxAttempts: 2 } });
    h.script.on('POST', `${AIS}/`, { status: 429, headers: { 'retry-after': '1' } });
    h.script.on('POST', `${AIS}/`, { status: 429, headers: { 'retry-after': '1' } });
    const error = await failureOf(h.client.createAudience(createInput));
    expect(error).toBeInstanceOf(AepUnavailableError);
    expect(error).not.toBeInstanceOf(AepAmbiguousWriteError);
    expect((error as AepUnavailableError).retryAfterSeconds).toBe(1);
  });
});

describe('getOperation', () => {
  it('maps SUCCESS with the audience id', async () => {
    h = harness();
    h.script.on('GET', `${AIS}/operations/op-1`, {
      status: 200,
      body: { operationId: 'op-1', status: 'SUCCESS', audienceId: 'aud-1', audienceName: 'n', createdAt: 1 },
    });
    await expect(h.client.getOperation('op-1')).resolves.toEqual({
      operationId: 'op-1',
      status: 'SUCCESS',
      audienceId: 'aud-1',
      audienceName: 'n',
    });
  });

  it('falls back to the plural path once on 404', async () => {
    h = harness();
    h.script.on('GET', `${AIS}/operations/op-1`, { status: 404, body: { errorMessage: 'no route' } });
    h.script.on('GET', '/data/core/ais/external-audiences/operations/op-1', {
      status: 200,
      body: { operationId: 'op-1', status: 'RUNNING' },
    });
    await expect(h.client.getOperation('op-1')).resolves.toEqual({
      operationId: 'op-1',
      status: 'PROCESSING',
    });
  });

  it('throws AepNotFoundError when both paths answer 404', async () => {
    h = harness();
    h.script.on('GET', `${AIS}/operations/op-9`, { status: 404, body: {} });
    h.script.on('GET', '/data/core/ais/external-audiences/operations/op-9', { status: 404, body: {} });
    expect(await failureOf(h.client.getOperation('op-9'))).toBeInstanceOf(AepNotFoundError);
  });

  it('carries a failure reason when FAILED', async () => {
    h = harness();
    h.script.on('GET', `${AIS}/operations/op-1`, {
      status: 200,
      body: { operationId: 'op-1', status: 'failed', failureReason: 'path not found in connection' },
    });
    await expect(h.client.getOperation('op-1')).resolves.toMatchObject({
      status: 'FAILED',
      failureReason: 'path not found in connection',
    });
  });

  it('names the missing field of a malformed 2xx body', async () => {
    h = harness();
    h.script.on('GET', `${AIS}/operations/op-1`, { status: 200, body: { status: 'SUCCESS' } });
    const error = await failureOf(h.client.getOperation('op-1'));
    expect(error).toBeInstanceOf(AepResponseError);
    expect(error.message).toContain('operationId');
  });
});

describe('findAudienceByName', () => {
  it('filters by name in the query and matches case-insensitively', async () => {
    h = harness();
    h.script.on(
      'GET',
      '/data/core/ups/audiences',
      {
        status: 200,
        body: {
          children: [
            { id: 'other', name: 'teamA/spring-churn-2' },
            { id: 'aud-7', name: 'TeamA/Spring-Churn' },
          ],
        },
      },
      (r) => expect(r.url.searchParams.get('property')).toBe('name==teamA/spring-churn'),
    );
    await expect(h.client.findAudienceByName('teamA/spring-churn')).resolves.toEqual({
      audienceId: 'aud-7',
      name: 'TeamA/Spring-Churn',
    });
  });

  it('returns undefined when no audience has that name', async () => {
    h = harness();
    h.script.on('GET', '/data/core/ups/audiences', { status: 200, body: { children: [] } });
    await expect(h.client.findAudienceByName('nope')).resolves.toBeUndefined();
  });
});

describe('runs', () => {
  const window = { dataFilterStartTime: 1_780_000_000, dataFilterEndTime: 1_780_000_600 };

  it('starts a run with the window in seconds and no differentialIngestion', async () => {
    h = harness();
    h.script.on('POST', RUNS, { status: 200, body: runAnswer });
    const run = await h.client.startRun('aud-1', window);
    expect(jsonOf(h.script.requests[0])).toEqual(window);
    expect(run).toEqual({
      audienceId: 'aud-1',
      runId: 'run-1',
      status: 'PROCESSING',
      dataFilterStartTime: 1_780_000_000,
      dataFilterEndTime: 1_780_000_600,
      createdAt: 1_780_000_700,
      details: [],
    });
  });

  it('parses run status and stages tolerantly', async () => {
    h = harness();
    h.script.on('GET', `${RUNS}/run-1`, {
      status: 200,
      body: {
        ...runAnswer,
        status: 'success',
        dataFilterStartTime: '1780000000',
        details: [
          { stage: 'DATASET_INGEST', status: 'SUCCESS', flowRunId: 'fr-1' },
          { stage: 'PROFILE_STORE_INGEST', status: 'PROCESSING' },
        ],
      },
    });
    await expect(h.client.getRun('aud-1', 'run-1')).resolves.toMatchObject({
      status: 'SUCCESS',
      dataFilterStartTime: 1_780_000_000,
      details: [
        { stage: 'DATASET_INGEST', status: 'SUCCESS', flowRunId: 'fr-1' },
        { stage: 'PROFILE_STORE_INGEST', status: 'PROCESSING' },
      ],
    });
  });

  it('adopts the listed run after an unanswered POST instead of posting again', async () => {
    h = harness();
    h.script.on('POST', RUNS, { fail: 'network' });
    h.script.on('GET', RUNS, {
      status: 200,
      body: {
        runs: [
          { ...runAnswer, runId: 'old', dataFilterStartTime: 1 },
          { ...runAnswer, status: 'PROCESSING' },
        ],
      },
    });
    const run = await h.client.startRun('aud-1', window);
    expect(run.runId).toBe('run-1');
    expect(h.script.calls('POST', RUNS)).toHaveLength(1);
  });

  it('never adopts a run another file holds, even in the same time window', async () => {
    h = harness();
    h.script.on('POST', RUNS, { fail: 'network' });
    h.script.on('GET', RUNS, { status: 200, body: { runs: [{ ...runAnswer, runId: 'theirs' }] } });
    h.script.on('POST', RUNS, { status: 200, body: { ...runAnswer, runId: 'ours' } });
    const run = await h.client.startRun('aud-1', { ...window, claimedRunIds: ['theirs'] });
    expect(run.runId).toBe('ours');
    expect(h.script.calls('POST', RUNS)).toHaveLength(2);
    // The claimed ids stay local: AEP gets the window only.
    expect(JSON.parse(String(h.script.requests.at(-1)?.body))).toEqual(window);
  });

  it('posts again when the listing shows no run of ours', async () => {
    h = harness();
    h.script.on('POST', RUNS, { status: 502, body: {} });
    h.script.on('GET', RUNS, {
      status: 200,
      body: { runs: [{ ...runAnswer, runId: 'old', dataFilterEndTime: 5 }] },
    });
    h.script.on('POST', RUNS, { status: 200, body: { ...runAnswer, runId: 'run-2' } });
    await expect(h.client.startRun('aud-1', window)).resolves.toMatchObject({ runId: 'run-2' });
  });

  it('adopts after a "run in progress" answer that follows an unanswered POST', async () => {
    h = harness();
    const inProgress = {
      status: 422,
      body: {
        type: 'https://ns.adobe.com/aep/errors/100960-422',
        title: 'UNPROCESSABLE_ENTITY',
        detail: 'A run is already in progress for this audience',
      },
    };
    h.script.on('POST', RUNS, { status: 504, body: {} });
    h.script.on('GET', RUNS, { status: 200, body: { runs: [] } });
    h.script.on('POST', RUNS, inProgress);
    h.script.on('GET', RUNS, { status: 200, body: { runs: [runAnswer] } });
    await expect(h.client.startRun('aud-1', window)).resolves.toMatchObject({ runId: 'run-1' });
  });

  it('throws AepRunInProgressError on a first-hand "run in progress"', async () => {
    h = harness();
    h.script.on('POST', RUNS, {
      status: 422,
      body: { error_code: '100960', message: 'Another run is active for this audience' },
    });
    expect(await failureOf(h.client.startRun('aud-1', window))).toBeInstanceOf(AepRunInProgressError);
  });

  it('throws AepAmbiguousWriteError when the listing itself stays unavailable', async () => {
    h = harness({ retry: { maxAttempts: 2 } });
    h.script.on('POST', RUNS, { fail: 'timeout' });
    h.script.on('GET', RUNS, { status: 503, body: {} }).on('GET', RUNS, { status: 503, body: {} });
    expect(await failureOf(h.client.startRun('aud-1', window))).toBeInstanceOf(AepAmbiguousWriteError);
  });

  it('lists runs from {runs:[…]}', async () => {
    h = harness();
    h.script.on('GET', RUNS, {
      status: 200,
      body: { runs: [runAnswer, { ...runAnswer, runId: 'run-2', status: 'FAILED' }] },
    });
    const runs = await h.client.listRuns('aud-1');
    expect(runs.map((r) => [r.runId, r.status])).toEqual([
      ['run-1', 'PROCESSING'],
      ['run-2', 'FAILED'],
    ]);
  });
});

describe('addAudienceToDataflow', () => {
  const selectorPath = '/transformations/0/params/segmentSelectors/selectors/-';

  it('answers ALREADY_PRESENT without a PATCH when the selector is there', async () => {
    h = harness();
    h.script.on('GET', FLOW, { status: 200, body: flowBody('"e1"', ['x', 'aud-1']) });
    await expect(h.client.addAudienceToDataflow({ flowId: 'flow-1', audienceId: 'aud-1' })).resolves.toBe(
      'ALREADY_PRESENT',
    );
  });

  it('PATCHes a streaming selector and accepts a 202 without body', async () => {
    h = harness();
    h.script.on('GET', FLOW, { status: 200, body: flowBody('"e1"') });
    h.script.on('PATCH', FLOW, { status: 202 });
    await expect(
      h.client.addAudienceToDataflow({ flowId: 'flow-1', audienceId: 'aud-1', audienceName: 'churn' }),
    ).resolves.toBe('ADDED');
    expect(jsonOf(h.script.calls('PATCH', FLOW)[0])).toEqual([
      {
        op: 'add',
        path: selectorPath,
        value: { type: 'PLATFORM_SEGMENT', value: { id: 'aud-1', name: 'churn' } },
      },
    ]);
  });

  it('PATCHes a batch selector with template, export mode and schedule', async () => {
    h = harness();
    const batch = {
      exportMode: 'DAILY_FULL_EXPORT' as const,
      schedule: {
        frequency: 'DAILY',
        triggerType: 'SCHEDULED' as const,
        startDate: '2026-12-01',
        startTime: '20:00',
      },
      filenameTemplate: '%DESTINATION_NAME%_%SEGMENT_ID%',
    };
    h.script.on('GET', FLOW, { status: 200, body: flowBody('"e1"') });
    h.script.on('PATCH', FLOW, { status: 200, body: { id: 'flow-1', etag: '"e2"' } });
    await h.client.addAudienceToDataflow({ flowId: 'flow-1', audienceId: 'aud-1', batch });
    expect(jsonOf(h.script.calls('PATCH', FLOW)[0])).toEqual([
      {
        op: 'add',
        path: selectorPath,
        value: { type: 'PLATFORM_SEGMENT', value: { id: 'aud-1', ...batch } },
      },
    ]);
  });

  it('sends triggerType with DAILY_FULL_EXPORT only: SCHEDULED when unset, none with FIRST_FULL_THEN_INCREMENTAL', async () => {
    h = harness();
    const schedule = { frequency: 'EVERY_6_HOURS', startDate: '2026-12-01', startTime: '20:00' };
    const incremental = {
      exportMode: 'FIRST_FULL_THEN_INCREMENTAL' as const,
      // A state written before the rule gave every schedule a triggerType: it is not sent on.
      schedule: { ...schedule, triggerType: 'SCHEDULED' as const },
      filenameTemplate: '%DESTINATION_NAME%_%SEGMENT_ID%',
    };
    const fullExport = {
      exportMode: 'DAILY_FULL_EXPORT' as const,
      schedule: { ...schedule, frequency: 'DAILY' },
      filenameTemplate: '%DESTINATION_NAME%_%SEGMENT_ID%',
    };
    for (const _ of [1, 2]) {
      h.script.on('GET', FLOW, { status: 200, body: flowBody('"e1"') });
      h.script.on('PATCH', FLOW, { status: 200, body: { id: 'flow-1', etag: '"e2"' } });
    }
    await h.client.addAudienceToDataflow({ flowId: 'flow-1', audienceId: 'aud-1', batch: incremental });
    await h.client.addAudienceToDataflow({ flowId: 'flow-1', audienceId: 'aud-2', batch: fullExport });
    const sent = h.script
      .calls('PATCH', FLOW)
      .map(
        (call) => (jsonOf(call) as { value: { value: { schedule: unknown } } }[])[0]?.value.value.schedule,
      );
    expect(sent).toEqual([schedule, { ...schedule, frequency: 'DAILY', triggerType: 'SCHEDULED' }]);
  });

  it('re-reads the flow after a 412 and applies with the new etag', async () => {
    h = harness();
    const stale = {
      status: 412,
      body: { errorMessage: 'Supplied version=["e1"] does not match', errorDetails: '' },
    };
    h.script.on('GET', FLOW, { status: 200, body: flowBody('"e1"') });
    h.script.on('PATCH', FLOW, stale);
    h.script.on('GET', FLOW, { status: 200, body: flowBody('"e2"', ['someone-else']) });
    h.script.on('PATCH', FLOW, { status: 200, body: { id: 'flow-1', etag: '"e3"' } }, (r) =>
      expect(r.headers['if-match']).toBe('"e2"'),
    );
    await expect(h.client.addAudienceToDataflow({ flowId: 'flow-1', audienceId: 'aud-1' })).resolves.toBe(
      'ADDED',
    );
  });

  it('gives up with AepPreconditionFailedError after 5 re-reads that stay stale', async () => {
    h = harness();
    for (let i = 0; i < 6; i++) {
      h.script.on('GET', FLOW, { status: 200, body: flowBody(`"e${i}"`) });
      h.script.on('PATCH', FLOW, { status: 412, body: { errorMessage: 'stale' } });
    }
    const error = await failureOf(h.client.addAudienceToDataflow({ flowId: 'flow-1', audienceId: 'aud-1' }));
    expect(error).toBeInstanceOf(AepPreconditionFailedError);
    expect(h.script.calls('GET', FLOW)).toHaveLength(6);
  });

  it('resolves an unanswered PATCH by re-reading: selector present means ADDED', async () => {
    h = harness();
    h.script.on('GET', FLOW, { status: 200, body: flowBody('"e1"') });
    h.script.on('PATCH', FLOW, { status: 503, body: {} });
    h.script.on('GET', FLOW, { status: 200, body: flowBody('"e2"', ['aud-1']) });
    await expect(h.client.addAudienceToDataflow({ flowId: 'flow-1', audienceId: 'aud-1' })).resolves.toBe(
      'ADDED',
    );
    expect(h.script.calls('PATCH', FLOW)).toHaveLength(1);
  });

  it('re-PATCHes with the new etag when the re-read shows the PATCH did not apply', async () => {
    h = harness();
    h.script.on('GET', FLOW, { status: 200, body: flowBody('"e1"') });
    h.script.on('PATCH', FLOW, { fail: 'network' });
    h.script.on('GET', FLOW, { status: 200, body: flowBody('"e2"') });
    h.script.on('PATCH', FLOW, { status: 200, body: { id: 'flow-1', etag: '"e3"' } }, (r) =>
      expect(r.headers['if-match']).toBe('"e2"'),
    );
    await expect(h.client.addAudienceToDataflow({ flowId: 'flow-1', audienceId: 'aud-1' })).resolves.toBe(
      'ADDED',
    );
  });

  it('re-sends the same PATCH after a 429', async () => {
    h = harness();
    h.script.on('GET', FLOW, { status: 200, body: flowBody('"e1"') });
    h.script.on('PATCH', FLOW, { status: 429, headers: { 'retry-after': '2' } });
    h.script.on('PATCH', FLOW, { status: 200, body: { id: 'flow-1', etag: '"e2"' } }, (r) =>
      expect(r.headers['if-match']).toBe('"e1"'),
    );
    await expect(h.client.addAudienceToDataflow({ flowId: 'flow-1', audienceId: 'aud-1' })).resolves.toBe(
      'ADDED',
    );
    expect(h.sleeps[0]).toBeGreaterThanOrEqual(2000);
  });

  it('throws AepAmbiguousWriteError when the flow cannot be re-read after an unanswered PATCH', async () => {
    h = harness({ retry: { maxAttempts: 2 } });
    h.script.on('GET', FLOW, { status: 200, body: flowBody('"e1"') });
    h.script.on('PATCH', FLOW, { status: 504, body: {} });
    h.script.on('GET', FLOW, { status: 503 }).on('GET', FLOW, { status: 503 });
    expect(
      await failureOf(h.client.addAudienceToDataflow({ flowId: 'flow-1', audienceId: 'aud-1' })),
    ).toBeInstanceOf(AepAmbiguousWriteError);
  });

  it('names the missing etag of a malformed flow', async () => {
    h = harness();
    const body = flowBody('"e1"');
    const { etag: _etag, ...withoutEtag } = body.items[0]!;
    h.script.on('GET', FLOW, { status: 200, body: { items: [withoutEtag] } });
    const error = await failureOf(h.client.addAudienceToDataflow({ flowId: 'flow-1', audienceId: 'aud-1' }));
    expect(error).toBeInstanceOf(AepResponseError);
    expect(error.message).toContain('items.0.etag');
  });
});

describe('secrets', () => {
  it('keeps the client secret and tokens out of every error, even when AEP echoes them', async () => {
    h = harness({ retry: { maxAttempts: 1 } });
    h.script.on('GET', RUNS, {
      status: 400,
      body: { title: 'Bad', detail: `token ${TOKEN_MARKER}1 secret ${SECRET_MARKER}` },
    });
    h.script.on('GET', RUNS, { status: 503, body: `<html>${TOKEN_MARKER}1</html>` });
    h.script.on('GET', RUNS, { status: 200, body: { runs: 'nope' } });
    h.script.on('POST', RUNS, { fail: 'network' });
    const errors = [
      await failureOf(h.client.listRuns('aud-1')),
      await failureOf(h.client.listRuns('aud-1')),
      await failureOf(h.client.listRuns('aud-1')),
      await failureOf(h.client.startRun('aud-1', { dataFilterStartTime: 1 })),
    ];
    expect(errors.map((e) => e.name)).toEqual([
      'AepRequestError',
      'AepUnavailableError',
      'AepResponseError',
      'AepAmbiguousWriteError',
    ]);
    for (const error of errors) {
      expect(visibleText(error)).not.toContain(SECRET_MARKER);
      expect(visibleText(error)).not.toContain(TOKEN_MARKER);
      expect(visibleText(error)).not.toContain('https://platform.test');
    }
  });
});

describe('getFlowRun', () => {
  const FLOW_RUN = '/data/foundation/flowservice/runs/fr-1';
  // The monitoring tutorial's example (help/sources/tutorials/api/monitor.md), trimmed.
  const failedRun = {
    items: [
      {
        id: 'fr-1',
        flowId: 'flow-9',
        metrics: {
          statusSummary: {
            status: 'failed',
            errors: [{ code: 'CONNECTOR-2001-500', message: 'Error occurred at promotion activity.' }],
          },
        },
        activities: [
          { id: 'copyActivity', statusSummary: { status: 'success' } },
          {
            id: 'promotionActivity',
            statusSummary: {
              status: 'failed',
              errors: [{ code: 'CONNECTOR-2001-500', message: 'Error occurred at promotion activity.' }],
              extensions: {
                errors: [
                  { code: 'INGEST-1212-400', message: 'Encountered 1 errors in the data.' },
                  { code: 'MAPPER-3700-400', recordCount: 1, message: 'Mapper Transform Error' },
                  { code: 'NO-MESSAGE-1' },
                ],
              },
            },
          },
        ],
      },
    ],
    _links: {},
  };

  it("reads the run's status and its errors, the run's then the activities', each once", async () => {
    h = harness();
    h.script.on('GET', FLOW_RUN, { status: 200, body: failedRun });
    expect(await h.client.getFlowRun('fr-1')).toEqual({
      id: 'fr-1',
      status: 'failed',
      errors: [
        { code: 'CONNECTOR-2001-500', message: 'Error occurred at promotion activity.' },
        { code: 'INGEST-1212-400', message: 'Encountered 1 errors in the data.' },
        { code: 'MAPPER-3700-400', message: 'Mapper Transform Error' },
        { code: 'NO-MESSAGE-1', message: 'NO-MESSAGE-1' },
      ],
    });
  });

  it('takes a bare run object and a run without metrics', async () => {
    h = harness();
    h.script.on('GET', FLOW_RUN, {
      status: 200,
      body: { id: 'fr-1', metrics: { statusSummary: { status: 'success' } } },
    });
    h.script.on('GET', FLOW_RUN, { status: 200, body: { items: [{ id: 'fr-1' }] } });
    expect(await h.client.getFlowRun('fr-1')).toEqual({ id: 'fr-1', status: 'success', errors: [] });
    expect(await h.client.getFlowRun('fr-1')).toEqual({ id: 'fr-1', errors: [] });
  });

  it('maps a 404 to AepNotFoundError, and an unknown shape to AepResponseError', async () => {
    h = harness();
    h.script.on('GET', FLOW_RUN, {
      status: 404,
      body: { errorMessage: 'runs not found with id = [fr-1]', errorDetails: 'no such run' },
    });
    h.script.on('GET', FLOW_RUN, { status: 200, body: { items: [] } });
    expect(await failureOf(h.client.getFlowRun('fr-1'))).toBeInstanceOf(AepNotFoundError);
    expect(await failureOf(h.client.getFlowRun('fr-1'))).toBeInstanceOf(AepResponseError);
  });

  it('gives an outage two attempts of 10 s at most, not the whole retry budget', async () => {
    h = harness();
    h.script.on('GET', FLOW_RUN, { status: 503 }).on('GET', FLOW_RUN, { status: 503 });
    const outage = await failureOf(h.client.getFlowRun('fr-1'));
    expect(outage).toBeInstanceOf(AepUnavailableError);
    expect(h.script.remaining).toBe(0);
    expect(h.sleeps).toHaveLength(1);
    h.script.on('GET', FLOW_RUN, { fail: 'timeout' }).on('GET', FLOW_RUN, { fail: 'timeout' });
    const silent = await failureOf(h.client.getFlowRun('fr-1'));
    expect(silent.message).toContain('did not answer within 10000 ms');
    expect(h.script.remaining).toBe(0);
  });
});
