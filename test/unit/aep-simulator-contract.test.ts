// The AEP simulator's remaining contract over plain fetch: guardrail 422s, forced failures, ambiguous writes,
// dataflow rules and edits by "someone else", token expiry/revocation and the violations it records.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type AepSimulator,
  SIMULATOR_DEFAULT_CREDENTIALS as CREDS,
  SIMULATOR_DEFAULT_FLOWS,
  startAepSimulator,
} from '../../local/aep-simulator/index.ts';
import { callSimulator, platformHeaders } from './support/simulator-http.ts';

const [STREAMING, BATCH] = SIMULATOR_DEFAULT_FLOWS.map((f) => f.id) as [string, string];
let sim: AepSimulator;
let token: string;
let names = 0;

async function newToken(target = sim): Promise<string> {
  const res = await fetch(`${target.url}/ims/token/v3`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: CREDS.clientId,
      client_secret: CREDS.clientSecret,
      scope: CREDS.scopes,
    }),
  });
  return ((await res.json()) as { access_token: string }).access_token;
}

const headers = (extra: Record<string, string> = {}) => platformHeaders(token, extra);

const call = (method: string, path: string, body?: unknown, extra: Record<string, string> = {}) =>
  callSimulator(sim.url, token, method, path, body, extra);

const createBody = (name: string) => ({
  name,
  fields: [{ name: 'email', type: 'string', identityNs: 'Email' }],
  sourceSpec: {
    params: {
      path: 'bucket/in/a.csv',
      type: 'file',
      cloudType: 'S3',
      baseConnectionId: CREDS.baseConnectionId,
    },
  },
  ttlInDays: '40',
  audienceType: 'people',
  originName: 'CUSTOM_UPLOAD',
});

/** Creates an audience and moves the clock past its operation; returns its id. */
async function audience(): Promise<string> {
  names += 1;
  const created = await call('POST', '/data/core/ais/external-audience', createBody(`contract-${names}`));
  expect(created.status).toBe(202);
  expect(created.body.operationDetails.ttlInDays).toBe(40);
  sim.advance(31);
  const op = await call('GET', `/data/core/ais/external-audience/operations/${created.body.operationId}`);
  expect(op.body.status).toBe('SUCCESS');
  return op.body.audienceId as string;
}

const startRun = (id: string, start = 1_767_225_600) =>
  call('POST', `/data/core/ais/external-audience/${id}/runs`, { dataFilterStartTime: start });

async function flowEtag(flowId: string): Promise<string> {
  return (await call('GET', `/data/foundation/flowservice/flows/${flowId}`)).body.items[0].etag as string;
}

const addSelector = (flowId: string, etag: string, value: Record<string, unknown>) =>
  call(
    'PATCH',
    `/data/foundation/flowservice/flows/${flowId}`,
    [
      {
        op: 'add',
        path: '/transformations/0/params/segmentSelectors/selectors/-',
        value: { type: 'PLATFORM_SEGMENT', value },
      },
    ],
    { 'if-match': etag },
  );

const batchValue = (id: string, schedule: Record<string, unknown> = {}) => ({
  id,
  filenameTemplate: '%DESTINATION_NAME%_%SEGMENT_ID%_%TIMESTAMP%',
  exportMode: 'DAILY_FULL_EXPORT',
  schedule: {
    frequency: 'DAILY',
    triggerType: 'SCHEDULED',
    startDate: '2026-12-01',
    startTime: '20:00',
    ...schedule,
  },
});

beforeAll(async () => {
  sim = await startAepSimulator({ runsPerAudienceLimit: 3 });
  token = await newToken();
});
afterAll(() => sim.close());
afterEach(() => {
  sim.faults.clear();
  sim.violations.length = 0;
});

describe('AEP simulator contract', () => {
  it('tells the three run 422s apart by their text, and refuses a run before the audience exists', async () => {
    names += 1;
    const pending = await call('POST', '/data/core/ais/external-audience/', createBody(`pending-${names}`));
    const early = await call(
      'GET',
      `/data/core/ais/external-audience/operations/${pending.body.operationId}`,
    );
    expect(early.body).toMatchObject({ status: 'PROCESSING' });
    expect(early.body.audienceId).toBeUndefined();
    expect((await startRun(sim.audiences().at(-1)!.audienceId)).status).toBe(422);

    const id = await audience();
    expect((await startRun(id)).status).toBe(200);
    const inProgress = await startRun(id);
    expect(inProgress.status).toBe(422);
    expect(inProgress.body.detail).toMatch(/run is in progress/);
    for (let i = 0; i < 2; i++) {
      sim.advance(121);
      expect((await startRun(id)).status).toBe(200);
    }
    sim.advance(121);
    const perAudience = await startRun(id);
    expect(perAudience.body).toMatchObject({ status: 422, report: { code: '100960-422' } });
    expect(perAudience.body.detail).toMatch(/limit of 3 ingestion runs per audience/);
    expect((await startRun('no-such-audience')).body).toMatchObject({ report: { code: '100940-404' } });
    expect(sim.runs(id).map((r) => r.status)).toEqual(['SUCCESS', 'SUCCESS', 'SUCCESS']);
  });

  it('refuses the run past the daily sandbox limit with its own text', async () => {
    const local = await startAepSimulator({ dailyRunLimit: 2 });
    const saved = { sim, token };
    sim = local;
    token = await newToken(local);
    try {
      // One clock step for all three audiences keeps the runs on one UTC day.
      const operations = [];
      for (const name of ['day-1', 'day-2', 'day-3']) {
        operations.push(
          (await call('POST', '/data/core/ais/external-audience/', createBody(name))).body.operationId,
        );
      }
      sim.advance(31);
      const ids = sim.audiences().map((a) => a.audienceId);
      expect((await startRun(ids[0]!)).status).toBe(200);
      expect((await startRun(ids[1]!)).status).toBe(200);
      const daily = await startRun(ids[2]!);
      expect(daily.status).toBe(422);
      expect(daily.body.detail).toMatch(/daily limit of 2 ingestion runs per sandbox/);
      expect(operations).toHaveLength(3);
    } finally {
      await local.close();
      ({ sim, token } = saved);
    }
  });

  it('fails a run at the forced stage, and an operation when told to', async () => {
    const local = await startAepSimulator();
    const saved = { sim, token };
    sim = local;
    token = await newToken(local);
    try {
      const id = await audience();
      sim.faults.failNextRun('PROFILE_STORE_INGEST', 'profile store is full');
      const run = await startRun(id);
      sim.advance(61);
      const midway = await call('GET', `/data/core/ais/external-audience/${id}/runs/${run.body.runId}`);
      expect(midway.body.status).toBe('PROCESSING');
      sim.advance(60);
      const failed = await call('GET', `/data/core/ais/external-audience/${id}/runs/${run.body.runId}`);
      expect(failed.body.status).toBe('FAILED');
      expect(failed.body.details.map((d: { status: string }) => d.status)).toEqual(['SUCCESS', 'FAILED']);
      expect(JSON.stringify(failed.body.details[1])).toContain('profile store is full');
      const list = await call('GET', `/data/core/ais/external-audience/${id}/runs`);
      expect(list.body.runs).toHaveLength(1);

      sim.faults.failNextOperation('bad file');
      const created = await call('POST', '/data/core/ais/external-audience/', createBody('doomed'));
      sim.advance(31);
      const op = await call(
        'GET',
        `/data/core/ais/external-audiences/operations/${created.body.operationId}`,
      );
      expect(op.body).toMatchObject({ status: 'FAILED', failureReason: 'bad file' });
      expect((await call('POST', '/data/core/ais/external-audience/', createBody('doomed'))).status).toBe(
        202,
      );
    } finally {
      await local.close();
      ({ sim, token } = saved);
    }
  });

  it('fails a run at DATASET_INGEST when sourceFiles finds nothing in the window', async () => {
    const local = await startAepSimulator({ sourceFiles: async () => 0 });
    const saved = { sim, token };
    sim = local;
    token = await newToken(local);
    try {
      const id = await audience();
      const run = await startRun(id);
      sim.advance(61);
      const failed = await call('GET', `/data/core/ais/external-audience/${id}/runs/${run.body.runId}`);
      expect(failed.body.status).toBe('FAILED');
      expect(failed.body.details).toHaveLength(1);
      expect(JSON.stringify(failed.body.details[0])).toMatch(/No source file under bucket\/in\/a\.csv/);
    } finally {
      await local.close();
      ({ sim, token } = saved);
    }
  });

  it('applies a write before failing it when asked, and drops a connection', async () => {
    names += 1;
    const name = `ambiguous-${names}`;
    sim.faults.add({
      route: 'POST /data/core/ais/external-audience/',
      status: 502,
      times: 1,
      applyBeforeFailing: true,
    });
    expect((await call('POST', '/data/core/ais/external-audience', createBody(name))).status).toBe(502);
    expect(sim.audiences().filter((a) => a.name === name)).toHaveLength(1);
    expect(
      (await call('POST', '/data/core/ais/external-audience/', createBody(name.toUpperCase()))).status,
    ).toBe(409);
    sim.advance(31);
    const listing = await call(
      'GET',
      `/data/core/ups/audiences?property=${encodeURIComponent(`name==${name}`)}`,
    );
    expect(listing.body.children.map((c: { name: string }) => c.name)).toEqual([name]);
    expect(listing.body._page.totalCount).toBe(1);

    sim.faults.add({ route: 'GET /data/foundation/flowservice/flows/{id}', status: 500, nth: [2] });
    expect((await call('GET', `/data/foundation/flowservice/flows/${STREAMING}`)).status).toBe(200);
    expect((await call('GET', `/data/foundation/flowservice/flows/${STREAMING}`)).status).toBe(500);
    sim.faults.add({
      route: 'GET /data/foundation/flowservice/flows/{id}',
      status: 503,
      dropConnection: true,
    });
    await expect(
      fetch(`${sim.url}/data/foundation/flowservice/flows/${STREAMING}`, { headers: headers() }),
    ).rejects.toThrow();
  });

  it('adds selectors once, refuses duplicates and unknown audiences, and enforces batch rules', async () => {
    const id = await audience();
    expect((await addSelector(STREAMING, await flowEtag(STREAMING), { id: 'unknown' })).status).toBe(400);
    const added = await addSelector(STREAMING, await flowEtag(STREAMING), { id, name: 'n' });
    expect(added.status).toBe(200);
    expect(added.body.etag).toMatch(/^".+"$/);
    const again = await addSelector(STREAMING, added.body.etag, { id });
    expect(again.status).toBe(400);
    expect(sim.violations.some((v) => v.includes('duplicate selector'))).toBe(true);
    expect(sim.flow(STREAMING)!.selectors.filter((s) => s === id)).toHaveLength(1);

    const refusals: [Record<string, unknown>, RegExp][] = [
      [{ ...batchValue(id), filenameTemplate: '%SEGMENT_ID%.csv' }, /%DESTINATION_NAME%/],
      [{ ...batchValue(id), exportMode: 'WEEKLY' }, /exportMode/],
      [batchValue(id, { frequency: 'EVERY_3_HOURS' }), /frequency/],
      [batchValue(id, { startTime: '20:30' }), /startTime/],
      [batchValue(id, { startDate: '01/12/2026' }), /startDate/],
      [batchValue(id, { frequency: 'ONCE', endDate: '2026-12-31' }), /endDate/],
    ];
    for (const [value, message] of refusals) {
      const res = await addSelector(BATCH, await flowEtag(BATCH), value);
      expect(res.status).toBe(400);
      expect(res.body.errorMessage).toMatch(message);
    }
    expect((await addSelector(BATCH, await flowEtag(BATCH), batchValue(id))).status).toBe(200);
    expect(sim.flow(BATCH)!.selectors).toContain(id);
  });

  it('lets "someone else" edit a dataflow right after our GET, so our PATCH meets a 412', async () => {
    const id = await audience();
    sim.faults.concurrentFlowEdit(STREAMING);
    const before = sim.flow(STREAMING)!.selectors.length;
    const etag = await flowEtag(STREAMING);
    const stale = await addSelector(STREAMING, etag, { id });
    expect(stale.status).toBe(412);
    expect(stale.body.errorMessage).toMatch(/does not match the current version/);
    expect(sim.flow(STREAMING)!.selectors).toHaveLength(before + 1);
    expect((await addSelector(STREAMING, await flowEtag(STREAMING), { id })).status).toBe(200);
    const runs = await call('GET', `/data/foundation/flowservice/runs?property=flowId==${STREAMING}`);
    expect(runs.body).toEqual({ items: [] });
  });

  it('expires tokens on its clock, revokes them on demand, and records header and unit violations', async () => {
    const path = '/data/core/ups/audiences';
    sim.faults.revokeTokens();
    expect((await call('GET', path)).body).toMatchObject({ error_code: '401013' });
    const ais = await call('GET', '/data/core/ais/external-audience/operations/x');
    expect(ais.status).toBe(400);
    expect(ais.body).toMatchObject({ title: 'BAD_REQUEST', report: { code: '100911-400' } });
    token = await newToken();
    expect((await call('GET', path)).status).toBe(200);
    sim.faults.revokeTokensOnCall('GET /data/core/ups/audiences', 2);
    expect((await call('GET', path)).status).toBe(200);
    expect((await call('GET', path)).status).toBe(401);
    token = await newToken();
    expect((await call('GET', path)).status).toBe(200);
    sim.advance(86_400);
    expect((await call('GET', path)).status).toBe(401);
    token = await newToken();

    const noSandbox = { 'x-sandbox-name': '' };
    expect(
      (await call('GET', '/data/core/ais/external-audience/operations/x', undefined, noSandbox)).status,
    ).toBe(400);
    expect(
      (await call('GET', `/data/foundation/flowservice/flows/${STREAMING}`, undefined, noSandbox)).status,
    ).toBe(200);
    expect(sim.violations.some((v) => v.includes('x-sandbox-name'))).toBe(true);

    const id = await audience();
    expect((await startRun(id, 1_767_225_600_000)).body.dataFilterStartTime).toBe(1_767_225_600);
    expect(sim.violations.some((v) => v.includes('milliseconds'))).toBe(true);
    expect((await call('POST', '/data/core/ais/external-audience/', '{not json')).status).toBe(400);
    expect((await call('GET', '/data/core/ais/nowhere')).body).toMatchObject({ status: 404 });
    expect(sim.calls.at(-1)).toMatchObject({ method: 'GET', path: '/data/core/ais/nowhere', status: 404 });
  });

  it('answers IMS with invalid_request and accepts the query-string form', async () => {
    const missing = await fetch(`${sim.url}/ims/token/v3`, { method: 'POST' });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({ error: 'invalid_request' });
    const query = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: CREDS.clientId,
      client_secret: CREDS.clientSecret,
      scope: 'openid,AdobeID',
    });
    const viaQuery = await fetch(`${sim.url}/ims/token/v3?${query}`, { method: 'POST' });
    expect(viaQuery.status).toBe(200);
    const unknownScope = await fetch(`${sim.url}/ims/token/v3?${query}`.replace('AdobeID', 'admin'), {
      method: 'POST',
    });
    expect(await unknownScope.json()).toMatchObject({ error: 'invalid_scope' });
  });
});
