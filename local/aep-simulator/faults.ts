// Switchable fault injection: error statuses per route, added latency, token revocation, concurrent edits,
// forced operation/run failures.
import type { FlowRunErrorView, RunStage } from './store.ts';

export interface FaultRule {
  /** `METHOD /path/template` or only the path template; omitted = every route. */
  route?: string;
  method?: string;
  /** 1-based numbers of the matching calls (counted from when the rule was added) that fail. */
  nth?: number[];
  /** How many matching calls fail; omitted = all (subject to nth/probability). */
  times?: number;
  probability?: number;
  status: 429 | 500 | 502 | 503 | 504;
  /** Real seconds, sent as Retry-After on 429/503. */
  retryAfterSeconds?: number;
  dropConnection?: boolean;
  /** On a write: apply it, then answer the error (an ambiguous failure). Default false. */
  applyBeforeFailing?: boolean;
}

export interface SlowRule {
  probability: number;
  minMs: number;
  maxMs: number;
  route?: string;
}

export interface FaultController {
  add(rule: FaultRule): void;
  slow(rule: SlowRule): void;
  revokeTokens(): void;
  /** Revokes every token just before call `nth` (default 1) of `route` is served: a token lost mid-run. */
  revokeTokensOnCall(route: string, nth?: number): void;
  concurrentFlowEdit(flowId: string): void;
  failNextOperation(reason?: string): void;
  /**
   * The next run fails at `stage`, with `reason` on the stage; its Flow Service run lists `flowRunErrors` (by
   * default one error carrying the reason), or answers 404 with `flowRunUnreadable`.
   */
  failNextRun(stage: RunStage, reason?: string, options?: RunFailureOptions): void;
  clear(): void;
}

export interface RunFailureOptions {
  flowRunErrors?: FlowRunErrorView[];
  flowRunUnreadable?: boolean;
}

export interface PendingRunFailure extends RunFailureOptions {
  stage: RunStage;
  reason: string;
}

interface ActiveRule {
  rule: FaultRule;
  seen: number;
  fired: number;
}

/** Both operation paths and the create route with or without its trailing slash count as one route. */
function normalizeRoute(route: string): string {
  return route.replace('/external-audiences/', '/external-audience/').replace(/\/$/, '');
}

function routeMatches(pattern: string | undefined, method: string | undefined, route: string): boolean {
  const [callMethod, callTemplate = ''] = route.split(' ');
  if (method && method.toUpperCase() !== callMethod) return false;
  if (!pattern) return true;
  const normalized = normalizeRoute(pattern);
  return normalized.includes(' ')
    ? normalized === normalizeRoute(route)
    : normalized === normalizeRoute(callTemplate);
}

export class Faults implements FaultController {
  private rules: ActiveRule[] = [];
  private slowRules: SlowRule[] = [];
  private revokeOnCall: { route: string; nth: number; seen: number } | undefined;
  readonly pendingFlowEdits = new Set<string>();
  pendingOperationFailure: string | undefined;
  pendingRunFailure: PendingRunFailure | undefined;

  constructor(private readonly onRevoke: () => void) {}

  add(rule: FaultRule): void {
    this.rules.push({ rule, seen: 0, fired: 0 });
  }

  slow(rule: SlowRule): void {
    this.slowRules.push(rule);
  }

  revokeTokens(): void {
    this.onRevoke();
  }

  revokeTokensOnCall(route: string, nth = 1): void {
    this.revokeOnCall = { route, nth, seen: 0 };
  }

  /** Counts the call; revokes the tokens when it is the one `revokeTokensOnCall` named. */
  revokeIfDue(route: string): void {
    const pending = this.revokeOnCall;
    if (!pending || !routeMatches(pending.route, undefined, route)) return;
    pending.seen += 1;
    if (pending.seen < pending.nth) return;
    this.revokeOnCall = undefined;
    this.onRevoke();
  }

  concurrentFlowEdit(flowId: string): void {
    this.pendingFlowEdits.add(flowId);
  }

  failNextOperation(reason = 'The audience could not be created (simulated failure).'): void {
    this.pendingOperationFailure = reason;
  }

  failNextRun(
    stage: RunStage,
    reason = `The ${stage} stage failed (simulated failure).`,
    options: RunFailureOptions = {},
  ): void {
    this.pendingRunFailure = { stage, reason, ...options };
  }

  clear(): void {
    this.rules = [];
    this.slowRules = [];
    this.revokeOnCall = undefined;
    this.pendingFlowEdits.clear();
    this.pendingOperationFailure = undefined;
    this.pendingRunFailure = undefined;
  }

  /** The fault this call gets, if any; counts the call against every matching rule. */
  decide(route: string): FaultRule | undefined {
    let chosen: FaultRule | undefined;
    for (const active of this.rules) {
      const { rule } = active;
      if (!routeMatches(rule.route, rule.method, route)) continue;
      active.seen += 1;
      if (chosen) continue;
      if (rule.times !== undefined && active.fired >= rule.times) continue;
      if (rule.nth && !rule.nth.includes(active.seen)) continue;
      if (rule.probability !== undefined && Math.random() >= rule.probability) continue;
      active.fired += 1;
      chosen = rule;
    }
    return chosen;
  }

  latencyMs(route: string): number {
    let total = 0;
    for (const rule of this.slowRules) {
      if (!routeMatches(rule.route, undefined, route)) continue;
      if (Math.random() >= rule.probability) continue;
      total += rule.minMs + Math.random() * Math.max(0, rule.maxMs - rule.minMs);
    }
    return total;
  }
}
