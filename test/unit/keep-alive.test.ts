// KeepAlive with a counting fake AEP and a real registry on in-memory dynalite: one extend-ttl per audience
// per expiry period however often it runs, one failure not stopping the others, the daily run budget counted,
// one notice per period for audiences not kept alive, and the staged copy kept while the audience is.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkAudience } from '../../functions/check-audience/check-audience.ts';
import { checkIngestion } from '../../functions/check-ingestion/check-ingestion.ts';
import { createAudience } from '../../functions/create-audience/create-audience.ts';
import { type KeepAliveDeps, keepAlive, parseAsOf } from '../../functions/keep-alive/keep-alive.ts';
import type { AepUpkeepApi } from '../../functions/shared/aep/api.ts';
import { AepRequestError } from '../../functions/shared/aep/errors.ts';
import { Coordination, utcDay } from '../../functions/shared/coordination.ts';
import { Registry } from '../../functions/shared/registry.ts';
import type { ExpiryNotice, StagedRetention } from '../../functions/shared/upkeep.ts';
import { startIngestion } from '../../functions/start-ingestion/start-ingestion.ts';
import { startTestRegistry, type TestRegistry, taskDeps, taskEvent } from './support/aep-tasks.ts';
import { FakeAep } from './support/fake-aep.ts';

const DAY = 86_400_000;
const T0 = Date.parse('2026-03-01T10:00:00.000Z');
let store: TestRegistry;
let table = 0;

beforeAll(async () => {
  store = await startTestRegistry('keep-alive-test');
});

afterAll(async () => {
  await store?.close();
});

class CountingUpkeepAep implements AepUpkeepApi {
  readonly extended: string[] = [];
  readonly failFor = new Set<string>();

  async extendTtl(audienceId: string) {
    this.extended.push(audienceId);
    if (this.failFor.has(audienceId)) {
      throw new AepRequestError('AEP POST extend-ttl answered 422: no successful run', { status: 422 });
    }
    return { audienceId };
  }

  async deleteAudience(): Promise<'DELETED'> {
    return 'DELETED';
  }

  async removeAudienceFromDataflow(): Promise<'REMOVED'> {
    return 'REMOVED';
  }
}

class RecordingRetention implements StagedRetention {
  readonly kept = new Set<string>();
  readonly released: string[] = [];
  async keep(key: string) {
    this.kept.add(key);
  }
  async release(key: string) {
    this.kept.delete(key);
    this.released.push(key);
  }
}

/** A registry of its own (a key prefix per test), on a clock the test moves. */
function world() {
  table += 1;
  const clock = { now: T0 };
  const registry = new Registry({
    client: store.client,
    tableName: store.tableName,
    now: () => clock.now,
  });
  const prefix = `t${table}-`;
  return { clock, registry, prefix };
}

/** An audience that had one successful run at the clock's time, with its TTL and keep-alive flag. */
async function audience(
  registry: Registry,
  name: string,
  options: { ttlInDays?: number; keepAlive?: boolean; team?: { team: string; sandbox: string } } = {},
): Promise<string> {
  const key = options.team
    ? `${options.team.sandbox}#${options.team.team}#${name.toLowerCase()}`
    : name.toLowerCase();
  const plan = {
    name,
    registryKey: key,
    stagingPrefix: `staging/audiences/${key}/`,
    sourcePath: `drop/staging/audiences/${key}`,
    ttlInDays: options.ttlInDays ?? 30,
    ...(options.team ?? {}),
  };
  expect(await registry.claimCreation(plan, `exec-${key}`)).toBe('CLAIMED');
  const audienceId = `aud-${key}`;
  await registry.markReady(key, audienceId);
  await registry.recordSuccessfulRun(key, {
    execution: `exec-${key}`,
    stagedKey: `staging/audiences/${key}/exec-${key}.csv`,
    ttlInDays: plan.ttlInDays,
    keepAlive: options.keepAlive,
  });
  return audienceId;
}

function deps(
  registry: Registry,
  at: number,
  aep: CountingUpkeepAep,
  extra: { notices?: ExpiryNotice[]; staging?: StagedRetention; budget?: number; sandbox?: string } = {},
): KeepAliveDeps {
  const onClock = registry.withClock(() => at);
  return {
    aep,
    registry: onClock,
    coordination: onClock.coordination(),
    now: () => at,
    config: {
      sandboxName: extra.sandbox ?? `sandbox-${table}`,
      dailyRunBudget: extra.budget ?? 100,
      keepAliveDaysBeforeExpiry: 7,
      expiryWarningDays: 7,
    },
    staging: extra.staging,
    notices: { publish: async (notice) => void extra.notices?.push(notice) },
  };
}

/** The results of this test's own audiences (the table is shared by the tests of the file). */
function own(report: Awaited<ReturnType<typeof keepAlive>>, prefix: string) {
  return report.results.filter((result) => result.name.startsWith(prefix));
}

describe('keep-alive', () => {
  it('run twice on one day inside the window: one extend-ttl per audience, the new expiry recorded', async () => {
    const { registry, prefix } = world();
    const a = await audience(registry, `${prefix}a`, { keepAlive: true });
    const b = await audience(registry, `${prefix}b`, { keepAlive: true, ttlInDays: 10 });
    const lapsing = await audience(registry, `${prefix}c`);
    const aep = new CountingUpkeepAep();
    // 25 days later: a (30 days) expires in 5, b (10 days) expired 15 days ago; both inside the window.
    const day = T0 + 25 * DAY;
    const first = await keepAlive(deps(registry, day, aep));
    const second = await keepAlive(deps(registry, day + 3_600_000, aep));
    expect(aep.extended.filter((id) => [a, b].includes(id)).sort()).toEqual([a, b].sort());
    expect(aep.extended).not.toContain(lapsing);
    expect(own(first, prefix).filter((r) => r.status === 'EXTENDED')).toHaveLength(2);
    expect(own(second, prefix).filter((r) => r.status === 'EXTENDED')).toHaveLength(0);
    const itemA = await registry.get(`${prefix}a`);
    expect(itemA?.expiresAt).toBe(new Date(day + 30 * DAY).toISOString());
    expect(itemA?.lastExtendedAt).toBe(new Date(day).toISOString());
    expect((await registry.get(`${prefix}b`))?.expiresAt).toBe(new Date(day + 10 * DAY).toISOString());
  });

  it("extends a team's audience with its team's client, and counts it in its team's sandbox", async () => {
    const { registry, prefix } = world();
    const own = await audience(registry, `${prefix}team-list`, {
      keepAlive: true,
      team: { team: 'brandA', sandbox: 'brand-a-prod' },
    });
    const stackAep = new CountingUpkeepAep();
    const teamAep = new CountingUpkeepAep();
    const asked: (string | undefined)[] = [];
    const day = T0 + 25 * DAY;
    await keepAlive({
      ...deps(registry, day, stackAep, { budget: 1 }),
      aepFor: async (item) => {
        asked.push(item.team);
        return teamAep;
      },
    });
    expect(teamAep.extended).toContain(own);
    expect(stackAep.extended).not.toContain(own);
    expect(asked).toContain('brandA');
    // The team's sandbox has its own budget: this test's stack sandbox (budget 1) is untouched by it.
    const item = (await registry.list()).find((i) => i.audienceId === own);
    expect(item?.sandbox).toBe('brand-a-prod');
  });

  it('one audience failing does not stop the others; it is reported and tried again the next run', async () => {
    const { registry, prefix } = world();
    const ids = await Promise.all(
      ['a', 'b', 'c'].map((n) => audience(registry, `${prefix}${n}`, { keepAlive: true })),
    );
    const aep = new CountingUpkeepAep();
    aep.failFor.add(ids[0]!);
    const day = T0 + 24 * DAY;
    const report = await keepAlive(deps(registry, day, aep));
    const mine = own(report, prefix);
    expect(mine.find((r) => r.audienceId === ids[0])).toMatchObject({
      status: 'FAILED',
      error: expect.stringContaining('422'),
    });
    expect(mine.filter((r) => r.status === 'EXTENDED').map((r) => r.audienceId)).toEqual(
      expect.arrayContaining([ids[1], ids[2]]),
    );
    expect(report.failed).toBeGreaterThanOrEqual(1);
    // The failed claim was released: the next run asks AEP again, the extended ones are left alone.
    aep.failFor.clear();
    const next = await keepAlive(deps(registry, day + DAY, aep));
    expect(own(next, prefix)).toEqual([expect.objectContaining({ audienceId: ids[0], status: 'EXTENDED' })]);
    expect(aep.extended.filter((id) => id === ids[0])).toHaveLength(2);
  });

  it('counts each extension against the sandbox daily run budget, and defers when it is spent', async () => {
    const { registry, prefix } = world();
    const sandbox = `budget-${prefix}`;
    await audience(registry, `${prefix}a`, { keepAlive: true });
    await audience(registry, `${prefix}b`, { keepAlive: true });
    const aep = new CountingUpkeepAep();
    const day = T0 + 26 * DAY;
    const report = await keepAlive(deps(registry, day, aep, { budget: 1, sandbox }));
    const statuses = own(report, prefix)
      .map((r) => r.status)
      .sort();
    expect(statuses).toEqual(['DEFERRED', 'EXTENDED']);
    const coordination = new Coordination({
      client: store.client,
      tableName: store.tableName,
      now: () => day,
    });
    expect(await coordination.runsUsed(sandbox)).toBe(1);
    expect(utcDay(day)).toBe('2026-03-27');
  });

  it('tells the team once per expiry period of an audience that is not kept alive', async () => {
    const { registry, prefix } = world();
    const id = await audience(registry, `${prefix}plain`, { keepAlive: false });
    const notices: ExpiryNotice[] = [];
    const aep = new CountingUpkeepAep();
    await keepAlive(deps(registry, T0 + 20 * DAY, aep, { notices })); // expires in 10 days: not yet
    await keepAlive(deps(registry, T0 + 24 * DAY, aep, { notices }));
    await keepAlive(deps(registry, T0 + 25 * DAY, aep, { notices }));
    const mine = notices.filter((n) => n.document.audienceId === id);
    expect(mine).toHaveLength(1);
    expect(mine[0]?.document).toMatchObject({
      notice: 'AUDIENCE_EXPIRING',
      expiresAt: new Date(T0 + 30 * DAY).toISOString(),
    });
    expect(aep.extended).not.toContain(id);
  });

  it("keeps the kept-alive audience's last staged copy, and lets it go when keep-alive is turned off", async () => {
    const { registry, prefix } = world();
    await audience(registry, `${prefix}kept`, { keepAlive: true });
    const staging = new RecordingRetention();
    const aep = new CountingUpkeepAep();
    await keepAlive(deps(registry, T0 + DAY, aep, { staging }));
    const key = `staging/audiences/${prefix}kept/exec-${prefix}kept.csv`;
    expect(staging.kept.has(key)).toBe(true);
    expect((await registry.get(`${prefix}kept`))?.keptStagedKey).toBe(key);
    await registry.setKeepAlive(`${prefix}kept`, false);
    await keepAlive(deps(registry, T0 + 2 * DAY, aep, { staging }));
    expect(staging.released).toContain(key);
    expect((await registry.get(`${prefix}kept`))?.keptStagedKey).toBeUndefined();
  });

  it('reads --as-of as a UTC day or an instant', () => {
    expect(parseAsOf('2026-03-05')).toBe(Date.parse('2026-03-05T00:00:00.000Z'));
    expect(parseAsOf('2026-03-05T12:00:00Z')).toBe(Date.parse('2026-03-05T12:00:00Z'));
    expect(parseAsOf('soon')).toBeUndefined();
  });
});

describe('check-ingestion records the expiry', () => {
  it("a successful run records the audience's expiry, TTL, staged copy and keep-alive flag", async () => {
    const aep = new FakeAep();
    aep.checksBeforeDone = 0;
    const name = `expiry-${Date.now()}`;
    const started = Date.now();
    const taskRegistry = new Registry({ client: store.client, tableName: store.tableName });
    const tasks = taskDeps(aep, taskRegistry);
    const kept = (event: ReturnType<typeof taskEvent>) => {
      const plan = event.state.validation?.audience;
      if (plan) plan.keepAlive = true;
      return event;
    };
    const created = await createAudience(kept(taskEvent({ name, execution: 'exec-1' })), tasks);
    const audience = await checkAudience(
      kept(taskEvent({ name, execution: 'exec-1', state: { audience: created } })),
      tasks,
    );
    const ingestion = await startIngestion(
      kept(taskEvent({ name, execution: 'exec-1', state: { audience } })),
      tasks,
    );
    const event = kept(taskEvent({ name, execution: 'exec-1', state: { audience, ingestion } }));
    const done = await checkIngestion(event, tasks);
    expect(done.status).toBe('SUCCESS');
    const item = await taskRegistry.get(name.toLowerCase());
    expect(item).toMatchObject({
      ttlInDays: 30,
      keepAlive: true,
      lastRunExecution: 'exec-1',
      lastStagedKey: event.state.validation?.staged?.key,
    });
    const expires = Date.parse(item?.expiresAt ?? '');
    expect(expires).toBeGreaterThanOrEqual(started + 30 * DAY);
    expect(expires).toBeLessThanOrEqual(Date.now() + 30 * DAY);
  });
});
