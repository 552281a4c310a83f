// KeepAlive, run daily by EventBridge Scheduler: for every audience in the registry, extend the TTL of those
// kept alive that expire within keepAliveDaysBeforeExpiry (once per expiry period, however often it runs), keep
// their last run's staged copy, and tell the team of those not kept alive that expire within expiryWarningDays
// (once per expiry period). One audience's failure is recorded and the others go on (docs/operations.md#audience-upkeep).
import type { AepUpkeepApi } from '../shared/aep/api.ts';
import type { Coordination } from '../shared/coordination.ts';
import type { Logger } from '../shared/log.ts';
import type { Registry, RegistryItem } from '../shared/registry.ts';
import { expiryNotice, type NoticePublisher, type StagedRetention } from '../shared/upkeep.ts';

const DAY_MS = 86_400_000;

export interface KeepAliveConfig {
  /** The sandbox whose daily run budget an extension is counted against (extend-ttl re-ingests). */
  sandboxName: string;
  dailyRunBudget: number;
  keepAliveDaysBeforeExpiry: number;
  expiryWarningDays: number;
}

export interface KeepAliveDeps {
  aep: AepUpkeepApi;
  /** The AEP client of an audience's team (its credentials and sandbox); `aep` for audiences of no team. */
  aepFor?: ((item: RegistryItem) => Promise<AepUpkeepApi>) | undefined;
  /** On the clock of the run (now, or `asOf`): expiries recorded here are computed from it. */
  registry: Registry;
  coordination: Coordination;
  /** Milliseconds: the moment the run is "as of". */
  now: () => number;
  config: KeepAliveConfig;
  /** Absent: staged copies are left as they are (a registry without a known bucket). */
  staging?: StagedRetention | undefined;
  notices: NoticePublisher;
  logger?: Logger | undefined;
}

export interface KeepAliveEvent {
  /** `YYYY-MM-DD` (that UTC day's 00:00) or an ISO 8601 instant: run as if it were then. Default: now. */
  asOf?: string;
}

export type AudienceUpkeep =
  | { status: 'EXTENDED'; expiresAt: string }
  | { status: 'ALREADY_EXTENDED' }
  | { status: 'NOTICE_SENT' }
  | { status: 'DEFERRED'; reason: string }
  | { status: 'FAILED'; error: string };

export interface KeepAliveReport {
  asOf: string;
  /** Audiences looked at (live, with a known expiry). */
  audiences: number;
  results: ({ name: string; audienceId: string; expiresAt: string } & AudienceUpkeep)[];
  extended: number;
  notices: number;
  failed: number;
}

/** The instant of `asOf`, or undefined when it is not a date or an instant. */
export function parseAsOf(asOf: string): number | undefined {
  const text = /^\d{4}-\d{2}-\d{2}$/.test(asOf) ? `${asOf}T00:00:00.000Z` : asOf;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

/** Audiences the pipeline still looks after: in AEP, not deleted, not superseded by a later generation. */
function isLive(item: RegistryItem): item is RegistryItem & { audienceId: string; expiresAt: string } {
  return (
    item.status === 'READY' &&
    item.audienceId !== undefined &&
    item.expiresAt !== undefined &&
    item.deletedAt === undefined &&
    item.rolledOverTo === undefined
  );
}

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

export async function keepAlive(deps: KeepAliveDeps): Promise<KeepAliveReport> {
  const nowMs = deps.now();
  const { config } = deps;
  const items = await deps.registry.list();
  const results: KeepAliveReport['results'] = [];

  for (const item of items) {
    try {
      await keepStagedCopy(item, deps);
    } catch (error) {
      // The audience itself is not at risk yet (its copy outlives stagingRetentionDays' 120 days by a margin
      // of 30 at least): reported, and tried again tomorrow.
      deps.logger?.warn('staged copy retention not updated', {
        audience: item.audienceName,
        error: errorText(error),
      });
      if (isLive(item)) {
        results.push({
          name: item.audienceName,
          audienceId: item.audienceId,
          expiresAt: item.expiresAt,
          status: 'FAILED',
          error: `the staged copy's retention tag could not be set: ${errorText(error)}`,
        });
      }
    }
    if (!isLive(item)) continue;
    const expiresMs = Date.parse(item.expiresAt);
    const entry = { name: item.audienceName, audienceId: item.audienceId, expiresAt: item.expiresAt };
    if (item.keepAlive === true) {
      if (expiresMs > nowMs + config.keepAliveDaysBeforeExpiry * DAY_MS) continue;
      results.push({ ...entry, ...(await extend(item, deps, nowMs)) });
    } else if (expiresMs > nowMs && expiresMs <= nowMs + config.expiryWarningDays * DAY_MS) {
      const outcome = await warn(item, deps, nowMs);
      if (outcome) results.push({ ...entry, ...outcome });
    }
  }

  const count = (status: AudienceUpkeep['status']) => results.filter((r) => r.status === status).length;
  return {
    asOf: new Date(nowMs).toISOString(),
    audiences: items.filter(isLive).length,
    results,
    extended: count('EXTENDED'),
    notices: count('NOTICE_SENT'),
    failed: count('FAILED'),
  };
}

/** One extend-ttl for the audience's current expiry, counted against the sandbox's daily run budget. */
async function extend(
  item: RegistryItem & { audienceId: string; expiresAt: string },
  deps: KeepAliveDeps,
  nowMs: number,
): Promise<AudienceUpkeep> {
  const { registry, config } = deps;
  const key = item.registryKey;
  if (!(await registry.claimExtension(key, item.expiresAt))) return { status: 'ALREADY_EXTENDED' };
  try {
    // Whether AEP counts an extension against its 100 runs per sandbox and day is not documented; it
    // re-ingests, so it is counted. The holder names the expiry: a retry of this extension counts once.
    const budget = await deps.coordination.takeRun(
      item.sandbox ?? config.sandboxName,
      `keep-alive#${key}#${item.expiresAt}`,
      config.dailyRunBudget,
    );
    if (budget === 'SPENT') {
      await registry.releaseExtension(key, item.expiresAt);
      const reason = `today's budget of ${config.dailyRunBudget} ingestion runs in sandbox "${item.sandbox ?? config.sandboxName}" is spent`;
      // Tomorrow's run tries again; an audience that would expire before then is a failure to page on.
      if (Date.parse(item.expiresAt) <= nowMs + DAY_MS) {
        return { status: 'FAILED', error: `${reason}, and the audience expires before the next run` };
      }
      return { status: 'DEFERRED', reason };
    }
    const aep = item.team !== undefined && deps.aepFor ? await deps.aepFor(item) : deps.aep;
    await aep.extendTtl(item.audienceId);
  } catch (error) {
    await registry.releaseExtension(key, item.expiresAt).catch(() => undefined);
    deps.logger?.warn('extend-ttl failed', { audience: item.audienceName, error: errorText(error) });
    return { status: 'FAILED', error: errorText(error) };
  }
  const expiresAt = await registry.recordExtension(key, item.expiresAt, item.ttlInDays ?? 30);
  deps.logger?.info('audience extended', { audience: item.audienceName, expiresAt });
  return { status: 'EXTENDED', expiresAt };
}

/** One notice per expiry period for an audience that will lapse. */
async function warn(
  item: RegistryItem & { audienceId: string; expiresAt: string },
  deps: KeepAliveDeps,
  nowMs: number,
): Promise<AudienceUpkeep | undefined> {
  if (!(await deps.registry.claimExpiryNotice(item.registryKey, item.expiresAt))) return undefined;
  try {
    await deps.notices.publish(expiryNotice(item, item.expiresAt, nowMs));
    return { status: 'NOTICE_SENT' };
  } catch (error) {
    await deps.registry.releaseExpiryNotice(item.registryKey, item.expiresAt).catch(() => undefined);
    return { status: 'FAILED', error: `the expiry notice could not be published: ${errorText(error)}` };
  }
}

/**
 * The staged copy extend-ttl re-ingests is kept while the audience is kept alive: the last successful run's
 * copy tagged to be kept, any copy kept before (an older run, an audience no longer kept alive or deleted)
 * tagged to expire again.
 */
async function keepStagedCopy(item: RegistryItem, deps: KeepAliveDeps): Promise<void> {
  const staging = deps.staging;
  if (!staging) return;
  // A copy staged in another bucket (an item another deployment wrote) is not this function's to tag.
  if (item.stagingBucket !== undefined && item.stagingBucket !== deps.registry.stagingBucket) return;
  const wanted = isLive(item) && item.keepAlive === true ? item.lastStagedKey : undefined;
  if (wanted === item.keptStagedKey) return;
  if (wanted !== undefined) await staging.keep(wanted);
  if (item.keptStagedKey !== undefined) await staging.release(item.keptStagedKey);
  await deps.registry.recordKeptStagedKey(item.registryKey, wanted);
}
