// The AEP simulator's less-travelled routes over plain fetch: name lookup, audience read/update/delete, run
// listing order, unknown routes and bad JSON, call-numbered faults, and the selector shapes per dataflow kind.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AepSimulator,
  SIMULATOR_DEFAULT_CREDENTIALS as CREDS,
  SIMULATOR_DEFAULT_FLOWS,
  startAepSimulator,
} from '../../local/aep-simulator/index.ts';
import { callSimulator } from './support/simulator-http.ts';

const [STREAMING, BATCH] = SIMULATOR_DEFAULT_FLOWS.map((f) => f.id) as [string, string];
const AIS = '/data/core/ais/external-audience';
const FLOWS = '/data/foundation/flowservice/flows';
let sim: AepSimulator;
let token: string;
let audienceId: string;

const call = (method: string, path: string, body?: unknown, extra: Record<string, string> = {}) =>
  callSimulator(sim.url, token, method, path, body, extra);

const addSelector = (value: Record<string, unknown>) => [
  {
    op: 'add',
    path: '/transformations/0/params/segmentSelectors/selectors/-',
    value: { type: 'PLATFORM_SEGMENT', value },
  },
];

async function patchFlow(flowId: string, patch: unknown) {
  return call('PATCH', `${FLOWS}/${flowId}`, patch, { 'if-match': sim.flow(flowId)!.etag });
}

beforeAll(async () => {
  sim = await startAepSimulator();
  const res = await fetch(`${sim.url}/ims/token/v3`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: CREDS.clientId,
      client_secret: CREDS.clientSecret,
      scope: CREDS.scopes,
    }),
  });
  token = ((await res.json()) as { access_token: string }).access_token;
  const created = await call('POST', `${AIS}/`, {
    name: 'Routes-Audience',
    fields: [{ name: 'email', type: 'string', identityNs: 'email' }],
    sourceSpec: {
      path: 'bucket/in/routes.csv',
      type: 'file',
      cloudType: 'S3',
      baseConnectionId: CREDS.baseConnectionId,
    },
    originName: 'CUSTOM_UPLOAD',
  });
  expect(created.status).toBe(202);
  sim.advance(31);
  const operation = await call('GET', `${AIS}/operations/${created.body.operationId}`);
  expect(operation.body.status).toBe('SUCCESS');
  audienceId = operation.body.audienceId;
});

afterAll(() => sim.close());

describe('AEP simulator routes', () => {
  it('finds a created audience by name, URL-encoded or not, and nothing for another name', async () => {
    const encoded = await call(
      'GET',
      `/data/core/ups/audiences?property=${encodeURIComponent('name==Routes-Audience')}`,
    );
    const raw = await call('GET', '/data/core/ups/audiences?property=name==Routes-Audience');
    const other = await call('GET', '/data/core/ups/audiences?property=name==No-Such-Audience');

    expect(encoded.status).toBe(200);
    expect(encoded.body.children.map((c: { id: string }) => c.id)).toEqual([audienceId]);
    expect(raw.body.children.map((c: { id: string }) => c.id)).toEqual([audienceId]);
    expect(encoded.body._page.totalCount).toBe(1);
    expect(other.body.children).toEqual([]);
  });

  it('reads and updates an audience, and refuses a TTL out of range', async () => {
    const patched = await call('PATCH', `${AIS}/${audienceId}`, { description: 'updated', ttlInDays: 50 });
    const tooLong = await call('PATCH', `${AIS}/${audienceId}`, { ttlInDays: 91 });
    const read = await call('GET', `${AIS}/${audienceId}`);

    expect(patched.status).toBe(200);
    expect(read.body).toMatchObject({
      audienceId,
      audienceName: 'Routes-Audience',
      description: 'updated',
      ttlInDays: 50,
    });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.report.code).toBe('100910-400');
    expect(tooLong.body.detail).toMatch(/ttlInDays/);
  });

  it("knows AEP's hashed namespaces and refuses one the sandbox does not have", async () => {
    const create = (name: string, identityNs: string) =>
      call('POST', `${AIS}/`, {
        name,
        fields: [{ name: 'id', type: 'string', identityNs }],
        sourceSpec: {
          path: 'bucket/in/ns.csv',
          type: 'file',
          cloudType: 'S3',
          baseConnectionId: CREDS.baseConnectionId,
        },
        originName: 'CUSTOM_UPLOAD',
      });
    expect((await create('Hashed-Email', 'Email_LC_SHA256')).status).toBe(202);
    expect((await create('Hashed-Phone', 'Phone_SHA256_E.164')).status).toBe(202);
    expect((await create('Custom-CRM', 'CRMID')).status).toBe(202);
    const unknown = await create('Unknown-NS', 'Loyalty');
    expect(unknown.status).toBe(400);
    expect(unknown.body.detail).toMatch(/identity namespace "Loyalty" does not exist in this sandbox/);
  });

  it('lists runs newest first', async () => {
    const first = await call('POST', `${AIS}/${audienceId}/runs`, { dataFilterStartTime: 1767225600 });
    sim.advance(121);
    const second = await call('POST', `${AIS}/${audienceId}/runs`, { dataFilterStartTime: 1767312000 });
    const listed = await call('GET', `${AIS}/${audienceId}/runs`);

    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(listed.body.runs.map((r: { runId: string }) => r.runId)).toEqual([
      second.body.runId,
      first.body.runId,
    ]);
  });

  it('answers an unknown route with an RFC-7807 404 and malformed JSON with a 400', async () => {
    const unknown = await call('GET', '/data/core/ais/no/such/route');
    const malformed = await call('POST', `${AIS}/`, '{"name": ');

    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ status: 404 });
    expect(unknown.body.type).toEqual(expect.any(String));
    expect(malformed.status).toBe(400);
    expect(malformed.body.report.code).toBe('100910-400');
  });

  it('fails exactly the numbered calls of a route given by nth', async () => {
    sim.faults.add({ route: `GET ${AIS}/{id}`, nth: [2], status: 502 });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i += 1) statuses.push((await call('GET', `${AIS}/${audienceId}`)).status);
    sim.faults.clear();

    expect(statuses).toEqual([200, 502, 200]);
  });

  it('takes only {id, name, description} on a streaming dataflow', async () => {
    const withBatchFields = await patchFlow(
      STREAMING,
      addSelector({ id: audienceId, exportMode: 'DAILY_FULL_EXPORT' }),
    );
    const plain = await patchFlow(STREAMING, addSelector({ id: audienceId, name: 'Routes-Audience' }));

    expect(withBatchFields.status).toBe(400);
    expect(withBatchFields.body.errorMessage).toMatch(/exportMode/);
    expect(plain.status).toBe(200);
    expect(sim.flow(STREAMING)!.selectors).toEqual([audienceId]);
  });

  it('refuses a batch schedule date that is not on the calendar', async () => {
    const schedule = { frequency: 'DAILY', triggerType: 'SCHEDULED', startTime: '20:00' };
    const batchValue = (startDate: string) => ({
      id: audienceId,
      filenameTemplate: '%DESTINATION_NAME%_%SEGMENT_ID%',
      exportMode: 'DAILY_FULL_EXPORT',
      schedule: { ...schedule, startDate },
    });
    const impossible = await patchFlow(BATCH, addSelector(batchValue('2026-02-31')));
    const real = await patchFlow(BATCH, addSelector(batchValue('2026-02-28')));

    expect(impossible.status).toBe(400);
    expect(impossible.body.errorMessage).toMatch(/startDate/);
    expect(real.status).toBe(200);
  });

  it('takes an incremental export without triggerType, and records one sent with it as a violation', async () => {
    const incremental = (schedule: Record<string, unknown>) => ({
      id: audienceId,
      filenameTemplate: '%DESTINATION_NAME%_%SEGMENT_ID%',
      exportMode: 'FIRST_FULL_THEN_INCREMENTAL',
      schedule: { frequency: 'EVERY_3_HOURS', startDate: '2026-12-01', startTime: '20:00', ...schedule },
    });
    // The calendar test above left this audience in the dataflow; a second selector for it is a duplicate.
    const removeOurs = () => {
      const index = sim.flow(BATCH)!.selectors.indexOf(audienceId);
      const path = `/transformations/0/params/segmentSelectors/selectors/${index}`;
      return patchFlow(BATCH, index < 0 ? [] : [{ op: 'remove', path }]);
    };
    expect((await removeOurs()).status).toBe(200);
    const before = sim.violations.length;
    const withoutStartTime = await patchFlow(BATCH, addSelector(incremental({ startTime: undefined })));
    const plain = await patchFlow(BATCH, addSelector(incremental({})));
    expect(withoutStartTime.status).toBe(400);
    expect(withoutStartTime.body.errorMessage).toMatch(/startTime/);
    expect(plain.status).toBe(200);
    expect(sim.violations.length).toBe(before);
    expect((await removeOurs()).status).toBe(200);

    const withTrigger = await patchFlow(BATCH, addSelector(incremental({ triggerType: 'SCHEDULED' })));
    expect(withTrigger.status).toBe(200);
    const added = sim.violations.splice(before);
    expect(added).toEqual(['schedule.triggerType SCHEDULED sent with FIRST_FULL_THEN_INCREMENTAL']);
    expect((await removeOurs()).status).toBe(200);
  });

  it('removes an audience with 204, after which it is not found', async () => {
    const deleted = await call('DELETE', `${AIS}/${audienceId}`);
    const read = await call('GET', `${AIS}/${audienceId}`);

    expect(deleted.status).toBe(204);
    expect(read.status).toBe(404);
    expect(read.body.report.code).toBe('100940-404');
    expect(sim.violations).toEqual([]);
  });
});
