// The logs folder of a local target: each line a function writes, in the log of its execution (by
// correlationId) or in pipeline.log, and every AWS call the gateway refused, in aws-denials.log.
import { appendFile } from 'node:fs/promises';
import path from 'node:path';
import type { GatewayDecision } from '../iam/gateway.ts';

export class FunctionLogs {
  constructor(readonly dir: string) {}

  /** A line a function wrote: JSON lines go to the log of their execution (correlationId), others to one log. */
  line(line: string): void {
    let correlation = 'pipeline';
    try {
      correlation = (JSON.parse(line) as { correlationId?: string }).correlationId ?? 'pipeline';
    } catch {
      // not JSON: goes to the shared log
    }
    void appendFile(path.join(this.dir, `${correlation}.log`), `${line}\n`);
  }

  denied(decision: GatewayDecision): void {
    void appendFile(path.join(this.dir, 'aws-denials.log'), `${JSON.stringify(decision)}\n`);
  }
}
