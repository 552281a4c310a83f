// What every simulator handler shares: clock, state, faults, settings, and the violation/persistence hooks.
import type { SimClock } from './clock.ts';
import type { Faults } from './faults.ts';
import type { SimState, SimStatus, StoredAudience } from './store.ts';

export interface SimSettings {
  baseConnectionIds: string[];
  /** The sandbox's identity namespaces, lower-cased: AEP's standard ones and its custom ones. */
  namespaces: ReadonlySet<string>;
  operationSeconds: number;
  runStageSeconds: number;
  dailyRunLimit: number;
  runsPerAudienceLimit: number;
  sandboxName: string;
  clientId: string;
  sourceFiles?: (path: string, startSec: number, endSec?: number) => Promise<number>;
}

export interface SimContext {
  clock: SimClock;
  state: SimState;
  faults: Faults;
  settings: SimSettings;
  violation(text: string): void;
  /** Persists the state (no-op without statePath); call after every mutation. */
  save(): void;
}

export function audienceStatus(audience: StoredAudience, nowSec: number): SimStatus {
  if (nowSec < audience.readyAt) return 'PROCESSING';
  return audience.operationFails ? 'FAILED' : 'SUCCESS';
}

/** Audiences that exist for AEP: created (operation succeeded) and not deleted. */
export function findCreatedAudience(ctx: SimContext, audienceId: string): StoredAudience | undefined {
  const audience = ctx.state.audiences.find((a) => a.audienceId === audienceId && !a.deleted);
  return audience && audienceStatus(audience, ctx.clock.nowSec()) === 'SUCCESS' ? audience : undefined;
}
