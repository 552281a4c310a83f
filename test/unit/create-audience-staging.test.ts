// CreateAudience refuses to refresh an audience whose runs would read another folder than this file's: one the
// pipeline created from another drop bucket (the stack deployed again over a new bucket) or with another
// sourceSpec.path. A fake AEP and registries on one in-memory dynalite table, one per deployment's bucket.
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { checkAudience } from '../../functions/check-audience/check-audience.ts';
import { createAudience } from '../../functions/create-audience/create-audience.ts';
import { Registry, registryFromEnvironment } from '../../functions/shared/registry.ts';
import type { AudienceState, TaskEvent } from '../../functions/shared/state.ts';
import {
  rejection,
  startTestRegistry,
  type TestRegistry,
  taskDeps,
  taskEvent,
  uniqueName,
} from './support/aep-tasks.ts';
import { FakeAep } from './support/fake-aep.ts';

const OLD_BUCKET = 'old-drop';
const NEW_BUCKET = 'drop';

let store: TestRegistry;
let aep: FakeAep;
/** The registries of the earlier and of the current deployment: the same table, another BUCKET_NAME. */
let before: Registry;
let now: Registry;

beforeAll(async () => {
  store = await startTestRegistry();
  const registryFor = (stagingBucket: string) =>
    new Registry({ client: store.client, tableName: store.tableName, stagingBucket });
  before = registryFor(OLD_BUCKET);
  now = registryFor(NEW_BUCKET);
});

afterAll(async () => {
  await store?.close();
});

beforeEach(() => {
  aep = new FakeAep();
});

/** The file's event as the deployment of `bucket` stages it: sourceSpec.path names that bucket. */
function eventIn(bucket: string, options: Parameters<typeof taskEvent>[0]): TaskEvent {
  const event = taskEvent(options);
  const audience = event.state.validation?.audience;
  if (!audience) throw new Error('taskEvent has no audience plan');
  audience.sourcePath = `${bucket}/${audience.stagingPrefix.replace(/\/$/, '')}`;
  event.state.file.bucket = bucket;
  return event;
}

/** CreateAudience then CheckAudience until READY, as the state machine would. */
async function createAndWait(
  registry: Registry,
  event: TaskEvent,
  deps = taskDeps(aep, registry),
): Promise<AudienceState> {
  let audience = await createAudience(event, deps);
  for (let i = 0; i < 5 && audience.status === 'CREATING'; i += 1) {
    audience = await checkAudience({ ...event, state: { ...event.state, audience } }, deps);
  }
  return audience;
}

describe('an audience the pipeline creates', () => {
  it('records the bucket it was staged in and the sourceSpec.path AEP was given', async () => {
    const name = uniqueName();
    await createAndWait(now, eventIn(NEW_BUCKET, { name, execution: 'exec-1' }));
    const item = await now.get(name.toLowerCase());
    expect(item).toMatchObject({
      stagingBucket: NEW_BUCKET,
      sourcePath: expect.stringMatching(/^drop\/staging\//),
    });
    expect(item?.sourcePath).toBe(
      (aep.callsOf('createAudience')[0]?.[0] as { sourcePath: string } | undefined)?.sourcePath,
    );
  });

  it('is refreshed by a file staged where it was', async () => {
    const name = uniqueName();
    const first = await createAndWait(now, eventIn(NEW_BUCKET, { name, execution: 'exec-1' }));
    const second = await createAudience(
      eventIn(NEW_BUCKET, { name, execution: 'exec-2' }),
      taskDeps(aep, now),
    );
    expect(second).toMatchObject({ status: 'READY', audienceId: first.audienceId, refreshed: true });
  });
});

describe('a refresh whose registry item names another bucket', () => {
  it('is refused with AEP_REQUEST_REJECTED saying why and what to do, before a run is counted or AEP asked', async () => {
    const name = uniqueName();
    await createAndWait(before, eventIn(OLD_BUCKET, { name, execution: 'exec-1' }));
    const item = await now.get(name.toLowerCase());
    const callsBefore = aep.calls.length;

    const error = await rejection(
      createAudience(eventIn(NEW_BUCKET, { name, execution: 'exec-2' }), taskDeps(aep, now)),
    );
    expect(error.name).toBe('AEP_REQUEST_REJECTED');
    expect(error.message).toContain(`s3://${OLD_BUCKET}/${item?.stagingPrefix}`);
    expect(error.message).toContain(`sourceSpec.path "${item?.sourcePath}"`);
    expect(error.message).toContain('a PATCH cannot change it');
    expect(error.message).toContain(`staged in bucket ${NEW_BUCKET}`);
    expect(error.message).toContain('under a new audience name');
    expect(error.message).toContain(`existingBucketName "${OLD_BUCKET}"`);

    expect(aep.calls.length).toBe(callsBefore);
    expect(await now.get(name.toLowerCase())).toEqual(item);
  });

  it('is refused while another deployment still creates it, too', async () => {
    const name = uniqueName();
    await createAudience(eventIn(OLD_BUCKET, { name, execution: 'exec-1' }), taskDeps(aep, before));
    const error = await rejection(
      createAudience(eventIn(NEW_BUCKET, { name, execution: 'exec-2' }), taskDeps(aep, now)),
    );
    expect(error.name).toBe('AEP_REQUEST_REJECTED');
  });

  it('of an audience that has had its runs rolls over to a new audience staged here instead', async () => {
    const name = uniqueName();
    const full = await createAndWait(
      before,
      eventIn(OLD_BUCKET, { name, execution: 'exec-1' }),
      taskDeps(aep, before, 1, 'rollover'),
    );
    const next = await createAudience(
      eventIn(NEW_BUCKET, { name, execution: 'exec-2' }),
      taskDeps(aep, now, 1, 'rollover'),
    );
    expect(next).toMatchObject({ status: 'CREATING', name: `${name} #2` });
    expect(next.replaces?.[0]?.audienceId).toBe(full.audienceId);
    expect(await now.get(`${name} #2`.toLowerCase())).toMatchObject({ stagingBucket: NEW_BUCKET });
  });

  it('pinned by a manifest audienceId is refused as well', async () => {
    const name = uniqueName();
    const audienceId = aep.addForeignAudience(name);
    await createAudience(
      eventIn(OLD_BUCKET, { name, execution: 'exec-1', audienceId }),
      taskDeps(aep, before),
    );
    expect(await before.get(name.toLowerCase())).toMatchObject({ stagingBucket: OLD_BUCKET });
    // The pipeline did not create it: it knows no sourceSpec.path of it.
    expect((await before.get(name.toLowerCase()))?.sourcePath).toBeUndefined();
    const error = await rejection(
      createAudience(eventIn(NEW_BUCKET, { name, execution: 'exec-2', audienceId }), taskDeps(aep, now)),
    );
    expect(error.name).toBe('AEP_REQUEST_REJECTED');
    expect(error.message).toContain(`existingBucketName "${OLD_BUCKET}"`);
  });
});

describe('a refresh whose sourceSpec.path would differ in the same bucket', () => {
  it('is refused, naming the setting that changed', async () => {
    const name = uniqueName();
    await createAndWait(now, eventIn(NEW_BUCKET, { name, execution: 'exec-1' }));
    // sourcePathIncludesBucket turned off: the path no longer starts with the bucket.
    const event = eventIn(NEW_BUCKET, { name, execution: 'exec-2' });
    const audience = event.state.validation?.audience;
    if (!audience) throw new Error('no plan');
    audience.sourcePath = audience.stagingPrefix.replace(/\/$/, '');
    const error = await rejection(createAudience(event, taskDeps(aep, now)));
    expect(error.name).toBe('AEP_REQUEST_REJECTED');
    expect(error.message).toContain(`would now be "${audience.sourcePath}"`);
    expect(error.message).toContain('sourcePathIncludesBucket');
  });
});

describe('an item written before the bucket and path were recorded', () => {
  it('is refreshed as before', async () => {
    const name = uniqueName();
    const first = await createAndWait(store.registry, eventIn(OLD_BUCKET, { name, execution: 'exec-1' }));
    const item = await store.registry.get(name.toLowerCase());
    expect(item?.stagingBucket).toBeUndefined();
    // An older version wrote no sourcePath either.
    const { sourcePath: _recorded, ...older } = item ?? ({} as NonNullable<typeof item>);
    await store.client.send(new PutCommand({ TableName: store.tableName, Item: older }));
    const second = await createAudience(
      eventIn(NEW_BUCKET, { name, execution: 'exec-2' }),
      taskDeps(aep, now),
    );
    expect(second).toMatchObject({ status: 'READY', audienceId: first.audienceId, refreshed: true });
  });
});

describe('registryFromEnvironment', () => {
  it("records the function's BUCKET_NAME on the items it writes", async () => {
    const saved = {
      REGISTRY_TABLE_NAME: process.env.REGISTRY_TABLE_NAME,
      AWS_ENDPOINT_URL_DYNAMODB: process.env.AWS_ENDPOINT_URL_DYNAMODB,
      BUCKET_NAME: process.env.BUCKET_NAME,
    };
    process.env.REGISTRY_TABLE_NAME = store.tableName;
    process.env.AWS_ENDPOINT_URL_DYNAMODB = store.endpoint;
    process.env.BUCKET_NAME = NEW_BUCKET;
    try {
      const registry = registryFromEnvironment();
      expect(registry.stagingBucket).toBe(NEW_BUCKET);
      const plan = taskEvent({ name: uniqueName(), execution: 'exec-env' }).state.validation?.audience;
      if (!plan) throw new Error('no plan');
      expect(await registry.claimCreation(plan, 'exec-env')).toBe('CLAIMED');
      expect(await store.registry.get(plan.registryKey)).toMatchObject({ stagingBucket: NEW_BUCKET });
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });
});
