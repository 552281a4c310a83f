// AepClient retry timing (Retry-After, backoff with full jitter), outage handling and error-body mapping.
import { afterEach, describe, expect, it } from 'vitest';
import {
  AepAuthError,
  AepLimitError,
  AepNotFoundError,
  AepRequestError,
  AepRunInProgressError,
  AepUnavailableError,
} from '../../functions/shared/aep/errors.ts';
import { parseRetryAfter } from '../../functions/shared/aep/http.ts';
import { failureOf, type Harness, harness } from './support/aep-client-harness.ts';

const RUNS = '/data/core/ais/external-audience/aud-1/runs';
const RUNS_ROUTE = '/data/core/ais/external-audience/{audienceId}/runs';
const window = { dataFilterStartTime: 1_780_000_000 };

let h: Harness;
afterEach(() => {
  expect(h.script.problems).toEqual([]);
  expect(h.script.remaining).toBe(0);
});

describe('Retry-After', () => {
  it('waits at least the seconds of Retry-After', async () => {
    h = harness({ random: () => 0 });
    h.script.on('GET', RUNS, { status: 429, headers: { 'retry-after': '7' } });
    h.script.on('GET', RUNS, { status: 200, body: { runs: [] } });
    await h.client.listRuns('aud-1');
    expect(h.sleeps).toEqual([7000]);
  });

  it('waits until an HTTP-date Retry-After', async () => {
    h = harness({ random: () => 0 });
    const until = new Date(h.clock.now + 12_000).toUTCString();
    h.script.on('GET', RUNS, { status: 503, headers: { 'retry-after': until } });
    h.script.on('GET', RUNS, { status: 200, body: { runs: [] } });
    await h.client.listRuns('aud-1');
    expect(h.sleeps).toHaveLength(1);
    expect(h.sleeps[0]).toBeGreaterThanOrEqual(12_000);
  });

  it('keeps the jittered backoff when it is longer than Retry-After', async () => {
    h = harness({ random: () => 0.9, retry: { baseDelayMs: 10_000 } });
    h.script.on('GET', RUNS, { status: 429, headers: { 'retry-after': '1' } });
    h.script.on('GET', RUNS, { status: 200, body: { runs: [] } });
    await h.client.listRuns('aud-1');
    expect(h.sleeps).toEqual([9000]);
  });

  it('fails at once with retryAfterSeconds when AEP asks for a wait beyond the cap', async () => {
    h = harness({ retry: { maxDelayMs: 60_000 } });
    h.script.on('GET', RUNS, { status: 429, headers: { 'retry-after': '3600' } });
    const error = await failureOf(h.client.listRuns('aud-1'));
    expect(error).toBeInstanceOf(AepUnavailableError);
    expect((error as AepUnavailableError).retryAfterSeconds).toBe(3600);
    expect((error as AepUnavailableError).status).toBe(429);
    expect(h.sleeps).toEqual([]);
  });

  it('parses both forms and ignores garbage', () => {
    const now = Date.UTC(2026, 0, 1);
    expect(parseRetryAfter('5', now)).toBe(5000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
    h = harness();
  });
});

describe('backoff', () => {
  it('doubles the jitter ceiling per attempt up to the cap', async () => {
    h = harness({ random: () => 0.999, retry: { maxAttempts: 6, baseDelayMs: 1000, maxDelayMs: 5000 } });
    for (let i = 0; i < 5; i++) h.script.on('GET', RUNS, { status: 503, body: {} });
    h.script.on('GET', RUNS, { status: 200, body: { runs: [] } });
    await h.client.listRuns('aud-1');
    const ceilings = [1000, 2000, 4000, 5000, 5000];
    expect(h.sleeps).toHaveLength(5);
    h.sleeps.forEach((slept, i) => {
      expect(slept).toBeLessThanOrEqual(ceilings[i]!);
      expect(slept).toBeGreaterThanOrEqual(ceilings[i]! * 0.99);
    });
  });

  it('draws each wait from [0, ceiling) with the jitter source', async () => {
    const draws = [0, 0.25, 0.5];
    h = harness({ random: () => draws.shift() ?? 0 });
    for (let i = 0; i < 3; i++) h.script.on('GET', RUNS, { status: 502, body: {} });
    h.script.on('GET', RUNS, { status: 200, body: { runs: [] } });
    await h.client.listRuns('aud-1');
    expect(h.sleeps).toEqual([0, 500, 2000]);
  });
});

describe('outages', () => {
  it.each([
    ['503', { status: 503, body: {} }, 503],
    ['504', { status: 504, body: {} }, 504],
    ['a dropped connection', { fail: 'network' as const }, undefined],
    ['a timeout', { fail: 'timeout' as const }, undefined],
  ])('retries %s up to maxAttempts, then throws AepUnavailableError', async (_what, answer, status) => {
    h = harness({ retry: { maxAttempts: 4 } });
    for (let i = 0; i < 4; i++) h.script.on('GET', RUNS, answer);
    const error = await failureOf(h.client.listRuns('aud-1'));
    expect(error).toBeInstanceOf(AepUnavailableError);
    expect((error as AepUnavailableError).status).toBe(status);
    expect((error as AepUnavailableError).route).toBe(`GET ${RUNS_ROUTE}`);
    expect(h.sleeps).toHaveLength(3);
    expect(h.calls.filter((c) => c.route === RUNS_ROUTE).map((c) => c.attempt)).toEqual([1, 2, 3, 4]);
  });

  it('records NETWORK_ERROR for a call that got no answer', async () => {
    h = harness();
    h.script.on('GET', RUNS, { fail: 'network' });
    h.script.on('GET', RUNS, { status: 200, body: { runs: [] } });
    await h.client.listRuns('aud-1');
    expect(h.calls.map(({ route, method, status, attempt }) => ({ route, method, status, attempt }))).toEqual(
      [
        { route: '/ims/token/v3', method: 'POST', status: 200, attempt: 1 },
        { route: RUNS_ROUTE, method: 'GET', status: 'NETWORK_ERROR', attempt: 1 },
        { route: RUNS_ROUTE, method: 'GET', status: 200, attempt: 2 },
      ],
    );
  });

  it('does not retry a 500', async () => {
    h = harness();
    h.script.on('GET', RUNS, { status: 500, body: { type: 'x/100970-500', title: 'INTERNAL_SERVER_ERROR' } });
    const error = await failureOf(h.client.listRuns('aud-1'));
    expect(error).toBeInstanceOf(AepUnavailableError);
    expect((error as AepUnavailableError).aepCode).toBe('100970');
    expect(h.sleeps).toEqual([]);
  });

  it('retries an IMS outage, then gets the token', async () => {
    h = harness();
    h.script.onToken({ status: 503 });
    h.script.on('GET', RUNS, { status: 200, body: { runs: [] } });
    await h.client.listRuns('aud-1');
    expect(h.script.tokenRequests).toHaveLength(2);
    expect(h.sleeps).toHaveLength(1);
  });
});

describe('error bodies', () => {
  it('reads an RFC-7807 body with the code at the end of type', async () => {
    h = harness();
    h.script.on('GET', RUNS, {
      status: 404,
      body: {
        type: 'https://ns.adobe.com/aep/errors/FLOW-1439-404',
        title: 'Resource not found',
        status: 404,
      },
    });
    const error = await failureOf(h.client.listRuns('aud-1'));
    expect(error).toBeInstanceOf(AepNotFoundError);
    expect((error as AepNotFoundError).aepCode).toBe('FLOW-1439-404');
    expect(error.message).toContain('Resource not found');
    expect(error.message).toContain(`GET ${RUNS_ROUTE}`);
  });

  it('reads report.code and detail of an RFC-7807 body', async () => {
    h = harness();
    h.script.on('POST', RUNS, {
      status: 400,
      body: {
        title: 'BAD_REQUEST',
        detail: 'dataFilterStartTime is required',
        report: { code: '100910-400' },
      },
    });
    const error = await failureOf(h.client.startRun('aud-1', window));
    expect(error).toBeInstanceOf(AepRequestError);
    expect((error as AepRequestError).aepCode).toBe('100910');
    expect((error as AepRequestError).detail).toBe('BAD_REQUEST: dataFilterStartTime is required');
  });

  it('reads {error_code, message} with a numeric code', async () => {
    h = harness();
    h.script.on('GET', RUNS, {
      status: 400,
      body: { error_code: 400003, message: 'x-gw-ims-org-id header missing' },
    });
    const error = await failureOf(h.client.listRuns('aud-1'));
    expect((error as AepRequestError).aepCode).toBe('400003');
    expect(error.message).toContain('x-gw-ims-org-id header missing');
  });

  it('reads {errorMessage, errorDetails}', async () => {
    h = harness();
    h.script.on('GET', RUNS, {
      status: 404,
      body: { errorMessage: 'flows not found', errorDetails: 'id = [x]' },
    });
    const error = await failureOf(h.client.listRuns('aud-1'));
    expect((error as AepNotFoundError).detail).toBe('flows not found: id = [x]');
  });

  it('maps a 403 without a body to AepAuthError', async () => {
    h = harness();
    h.script.on('GET', RUNS, { status: 403 });
    expect(await failureOf(h.client.listRuns('aud-1'))).toBeInstanceOf(AepAuthError);
  });
});

describe('422 kinds', () => {
  const refusal = (detail: string, code = '100960-422') => ({
    status: 422,
    body: { type: `https://ns.adobe.com/aep/errors/${code}`, title: 'UNPROCESSABLE_ENTITY', detail },
  });

  it.each([
    ['A run is already in progress for this audience', AepRunInProgressError, undefined],
    ['The audience has an active run', AepRunInProgressError, undefined],
    ['Limit of 10 ingestion runs per audience reached', AepLimitError, 'AUDIENCE_RUNS'],
    ['Maximum number of runs for this audience exceeded', AepLimitError, 'AUDIENCE_RUNS'],
    ['Daily limit of 100 runs per sandbox reached', AepLimitError, 'DAILY_RUNS'],
    ['Too many runs per day', AepLimitError, 'DAILY_RUNS'],
    ['Base connection not found', AepRequestError, undefined],
  ])('"%s" → %o', async (detail, type, limit) => {
    h = harness();
    h.script.on('POST', RUNS, refusal(detail));
    const error = await failureOf(h.client.startRun('aud-1', window));
    expect(error).toBeInstanceOf(type);
    if (limit) expect((error as AepLimitError).limit).toBe(limit);
    expect(h.sleeps).toEqual([]);
  });

  it('treats a 422 with another code as a bad request even if it mentions a run in progress', async () => {
    h = harness();
    h.script.on('POST', RUNS, refusal('run in progress', '100999-422'));
    expect(await failureOf(h.client.startRun('aud-1', window))).toBeInstanceOf(AepRequestError);
  });
});
