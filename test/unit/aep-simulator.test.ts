// The AEP simulator on its own, over plain fetch: IMS, the gateway's checks, body validation, guardrails,
// dataflow etags, fault injection, the violation record and persistence.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type AepSimulator,
  SIMULATOR_DEFAULT_CREDENTIALS as CREDS,
  SIMULATOR_DEFAULT_FLOWS,
  startAepSimulator,
} from '../../local/aep-simulator/index.ts';
import { platformHeaders } from './support/simulator-http.ts';

let sim: AepSimulator;
let token: string;

async function getToken(overrides: Record<string, string> = {}): Promise<Response> {
  return fetch(`${sim.url}/ims/token/v3`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: CREDS.clientId,
      client_secret: CREDS.clientSecret,
      scope: CREDS.scopes,
      ...overrides,
    }),
  });
}

const headers = (extra: Record<string, string> = {}) => platformHeaders(token, extra);

const createBody = (name: string, patch: Record<string, unknown> = {}) => ({
  name,
  fields: [{ name: 'email', type: 'string', identityNs: 'Email' }],
  sourceSpec: {
    params: {
      path: 'bucket/staging/audiences/a',
      type: 'folder',
      sourceType: 'Cloud Storage',
      cloudType: 'S3',
      baseConnectionId: CREDS.baseConnectionId,
    },
  },
  ttlInDays: 30,
  audienceType: 'people',
  originName: 'CUSTOM_UPLOAD',
  ...patch,
});

async function create(name: string, patch: Record<string, unknown> = {}) {
  return fetch(`${sim.url}/data/core/ais/external-audience/`, {
    method: 'POST',
    headers: headers(),
    body: JSON.stringify(createBody(name, patch)),
  });
}

beforeAll(async () => {
  sim = await startAepSimulator();
  token = ((await (await getToken()).json()) as { access_token: string }).access_token;
});
afterAll(() => sim.close());
afterEach(() => sim.faults.clear());

describe('AEP simulator', () => {
  it('issues IMS tokens and refuses bad clients, scopes and grants with OAuth errors', async () => {
    const ok = await getToken();
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ token_type: 'bearer', expires_in: 86399 });
    expect((await getToken({ client_secret: 'wrong' })).status).toBe(401);
    expect(await (await getToken({ client_secret: 'wrong' })).json()).toMatchObject({
      error: 'invalid_client',
    });
    expect(await (await getToken({ scope: '' })).json()).toMatchObject({ error: 'invalid_scope' });
    expect(await (await getToken({ grant_type: 'password' })).json()).toMatchObject({
      error: 'unsupported_grant_type',
    });
  });

  it("applies the gateway's header checks with AEP's codes", async () => {
    const url = `${sim.url}/data/core/ais/external-audience/operations/x`;
    const without = async (name: string) => {
      const h = headers();
      delete h[name];
      const res = await fetch(url, { headers: h });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    expect(await without('authorization')).toMatchObject({ status: 403, body: { error_code: '403010' } });
    expect(await without('x-api-key')).toMatchObject({ status: 403, body: { error_code: '403000' } });
    expect(await without('x-gw-ims-org-id')).toMatchObject({ status: 400, body: { error_code: '400003' } });
    const badKey = await fetch(url, { headers: headers({ 'x-api-key': 'someone-else' }) });
    expect(await badKey.json()).toMatchObject({ error_code: '403003' });
    const badToken = await fetch(url, { headers: headers({ authorization: 'Bearer nope' }) });
    expect(badToken.status).toBe(401);
    expect(await badToken.json()).toMatchObject({ error_code: '401013' });
    const noType = await fetch(`${sim.url}/data/core/ais/external-audience/`, {
      method: 'POST',
      headers: headers({ 'content-type': 'text/plain' }),
      body: '{}',
    });
    expect(await noType.json()).toMatchObject({
      title: 'BadRequestError',
      detail: 'A valid content-type must be specified',
    });
  });

  it('validates create bodies and names the bad field (400 100910), 409 100950 on a duplicate name', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ fields: [{ name: 'score', type: 'number' }] }, /identity/],
      [{ fields: [{ name: 'email', type: 'text', identityNs: 'Email' }] }, /fields\[0\]\.type/],
      [{ ttlInDays: 91 }, /ttlInDays/],
      [{ originName: 'OTHER' }, /originName/],
      [
        {
          sourceSpec: {
            params: {
              path: 'has space/x',
              type: 'folder',
              cloudType: 'S3',
              baseConnectionId: CREDS.baseConnectionId,
            },
          },
        },
        /spaces/,
      ],
      [
        { sourceSpec: { params: { path: 'b/x', type: 'folder', baseConnectionId: CREDS.baseConnectionId } } },
        /cloudType/,
      ],
    ];
    for (const [patch, detail] of cases) {
      const res = await create('bad-body', patch);
      expect(res.status).toBe(400);
      const body = (await res.json()) as { detail: string; report: { code: string } };
      expect(body.report.code).toBe('100910-400');
      expect(body.detail).toMatch(detail);
    }
    const unknownConnection = await create('x', {
      sourceSpec: { params: { path: 'b/x', type: 'folder', cloudType: 'S3', baseConnectionId: 'nope' } },
    });
    expect(unknownConnection.status).toBe(422);
    expect((await create('Twice')).status).toBe(202);
    const twice = await create('twice');
    expect(twice.status).toBe(409);
    expect(await twice.json()).toMatchObject({ report: { code: '100950-409' } });
  });

  it('moves operations and runs through their statuses on its clock, and serves both operation paths', async () => {
    const { operationId } = (await (await create('clocked')).json()) as { operationId: string };
    const op = async (plural: boolean) =>
      (await (
        await fetch(
          `${sim.url}/data/core/ais/external-audience${plural ? 's' : ''}/operations/${operationId}`,
          { headers: headers() },
        )
      ).json()) as { status: string; audienceId?: string };
    expect((await op(false)).status).toBe('PROCESSING');
    sim.advance(31);
    const done = await op(true);
    expect(done.status).toBe('SUCCESS');
    const runUrl = `${sim.url}/data/core/ais/external-audience/${done.audienceId}/runs`;
    const started = (await (
      await fetch(runUrl, {
        method: 'POST',
        headers: headers(),
        body: JSON.stringify({ dataFilterStartTime: 1_767_225_600 }),
      })
    ).json()) as { runId: string };
    const second = await fetch(runUrl, {
      method: 'POST',
      headers: headers(),
      body: JSON.stringify({ dataFilterStartTime: 1_767_225_601 }),
    });
    expect(second.status).toBe(422);
    expect(((await second.json()) as { detail: string }).detail).toMatch(/in progress/);
    sim.advance(121);
    const run = (await (await fetch(`${runUrl}/${started.runId}`, { headers: headers() })).json()) as {
      status: string;
      details: { stage: string; status: string }[];
    };
    expect(run.status).toBe('SUCCESS');
    expect(run.details.map((d) => `${d.stage}:${d.status}`)).toEqual([
      'DATASET_INGEST:SUCCESS',
      'PROFILE_STORE_INGEST:SUCCESS',
    ]);
  });

  it('answers 412 for a missing, unquoted or stale If-Match, and records the unquoted one as a violation', async () => {
    const flowId = SIMULATOR_DEFAULT_FLOWS[0]!.id;
    const flowUrl = `${sim.url}/data/foundation/flowservice/flows/${flowId}`;
    const { items } = (await (await fetch(flowUrl, { headers: headers() })).json()) as {
      items: { etag: string }[];
    };
    const etag = items[0]!.etag;
    expect(etag).toMatch(/^".+"$/);
    const patch = (ifMatch?: string) =>
      fetch(flowUrl, {
        method: 'PATCH',
        headers: headers(ifMatch === undefined ? {} : { 'if-match': ifMatch }),
        body: JSON.stringify([
          { op: 'remove', path: '/transformations/0/params/segmentSelectors/selectors/0' },
        ]),
      });
    expect((await patch()).status).toBe(412);
    expect((await patch(etag.replaceAll('"', ''))).status).toBe(412);
    expect(sim.violations.some((v) => v.includes('not wrapped in double quotes'))).toBe(true);
    expect((await patch('"stale"')).status).toBe(412);
    const unknown = await fetch(`${sim.url}/data/foundation/flowservice/flows/nope`, { headers: headers() });
    expect(await unknown.json()).toMatchObject({ errorMessage: 'flows not found with id = [nope]' });
  });

  it('injects 429 with Retry-After and records a retry that comes too early', async () => {
    sim.faults.add({
      route: 'GET /data/core/ais/external-audience/operations/{id}',
      status: 429,
      retryAfterSeconds: 5,
      times: 1,
    });
    const url = `${sim.url}/data/core/ais/external-audience/operations/x`;
    const throttled = await fetch(url, { headers: headers() });
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('retry-after')).toBe('5');
    await fetch(url, { headers: headers() });
    expect(sim.violations.some((v) => v.includes('before the Retry-After'))).toBe(true);
    sim.violations.length = 0;
  });

  it('keeps its state in statePath across a restart', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'aep-sim-'));
    const statePath = path.join(dir, 'state.json');
    try {
      const first = await startAepSimulator({ statePath });
      const before = sim;
      sim = first;
      token = ((await (await getToken()).json()) as { access_token: string }).access_token;
      expect((await create('persisted')).status).toBe(202);
      await first.close();
      const second = await startAepSimulator({ statePath });
      expect(second.audiences().map((a) => a.name)).toEqual(['persisted']);
      await second.close();
      sim = before;
      token = ((await (await getToken()).json()) as { access_token: string }).access_token;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
