// Switchable faults of the AEP simulator: throttling and outages per route, slow answers, revoked tokens, a
// dataflow edited by someone else, and forced operation/run failures.

export interface FaultRule {
  /** Method + path template, e.g. `POST /data/core/ais/external-audience/`; absent = every route. */
  route?: string;
  /** 1-based call numbers of that route that fail. */
  nth?: number[];
  /** How many matching calls fail (default: all while the rule lives). */
  times?: number;
  probability?: number;
  status: 429 | 500 | 502 | 503 | 504;
  /** Real seconds, sent as Retry-After on 429/503. */
  retryAfterSeconds?: number;
  /** Close the connection without an answer. */
  dropConnection?: boolean;
  /** For writes: apply the write, then fail (an ambiguous failure). Default false: fail before applying. */
  applyBeforeFailing?: boolean;
}

export interface SlowRule {
  probability: number;
  minMs: number;
  maxMs: number;
  route?: string;
}

export class FaultController {
  rules: (FaultRule & { used: number })[] = [];
  slowRules: SlowRule[] = [];
  revokedBefore = 0;
  editFlowsAfterGet = new Set<string>();
  revokeOnCall: { route: string; nth: number } | undefined;
  nextOperationFailure: string | undefined;
  nextRunFailure: { stage: 'DATASET_INGEST' | 'PROFILE_STORE_INGEST'; reason: string } | undefined;

  add(rule: FaultRule): void {
    this.rules.push({ ...rule, used: 0 });
  }

  slow(rule: SlowRule): void {
    this.slowRules.push(rule);
  }

  /** Every token issued so far becomes invalid: the next call with one answers 401 `401013`. */
  revokeTokens(): void {
    this.revokedBefore = Date.now() + 1;
  }

  /** Revokes every token just before serving call `nth` of `route`: a token revoked mid-execution. */
  revokeTokensOnCall(route: string, nth = 1): void {
    this.revokeOnCall = { route, nth };
  }

  /** Right after the next GET of this flow is served, someone else edits it (new etag). */
  concurrentFlowEdit(flowId: string): void {
    this.editFlowsAfterGet.add(flowId);
  }

  failNextOperation(reason = 'the audience could not be created from its source'): void {
    this.nextOperationFailure = reason;
  }

  failNextRun(stage: 'DATASET_INGEST' | 'PROFILE_STORE_INGEST', reason = `${stage} failed`): void {
    this.nextRunFailure = { stage, reason };
  }

  clear(): void {
    this.rules = [];
    this.slowRules = [];
    this.editFlowsAfterGet.clear();
    this.revokeOnCall = undefined;
    this.nextOperationFailure = undefined;
    this.nextRunFailure = undefined;
  }

  /** The rule that fails this call, if any; `callNumber` is the 1-based count of calls of this route. */
  match(route: string, callNumber: number): FaultRule | undefined {
    for (const rule of this.rules) {
      if (rule.route && rule.route !== route) continue;
      if (rule.nth && !rule.nth.includes(callNumber)) continue;
      if (rule.times !== undefined && rule.used >= rule.times) continue;
      if (rule.probability !== undefined && Math.random() >= rule.probability) continue;
      rule.used += 1;
      return rule;
    }
    return undefined;
  }

  delayFor(route: string): number {
    for (const rule of this.slowRules) {
      if (rule.route && rule.route !== route) continue;
      if (Math.random() < rule.probability) return rule.minMs + Math.random() * (rule.maxMs - rule.minMs);
    }
    return 0;
  }
}
