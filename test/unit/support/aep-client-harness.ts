// Builds an AepClient over a ScriptedFetch with a fake clock, a sleep recorder and a call recorder.
import { AepClient, type AepClientOptions } from '../../../functions/shared/aep/client.ts';
import type { AepCallRecord, AepCredentials } from '../../../functions/shared/aep/types.ts';
import { ScriptedFetch } from './scripted-fetch.ts';

export const SECRET_MARKER = 'SECRET-MARKER-c1f9e2';
export const TOKEN_MARKER = 'TOKEN-MARKER-';
export const PLATFORM = 'https://platform.test';

export const credentials: AepCredentials = {
  clientId: 'client-id-1',
  clientSecret: SECRET_MARKER,
  orgId: 'ORG1@AdobeOrg',
  sandboxName: 'dev-sandbox',
  baseConnectionId: 'base-conn-1',
  imsUrl: 'https://ims.test/',
  platformUrl: PLATFORM,
};

export interface Harness {
  client: AepClient;
  script: ScriptedFetch;
  sleeps: number[];
  calls: AepCallRecord[];
  clock: { now: number };
}

export function harness(options: Partial<AepClientOptions> = {}): Harness {
  const script = new ScriptedFetch(TOKEN_MARKER);
  const sleeps: number[] = [];
  const calls: AepCallRecord[] = [];
  const clock = { now: Date.UTC(2026, 5, 1, 12, 0, 0) };
  const client = new AepClient({
    credentials,
    fetch: script.fetch,
    sleep: async (ms) => {
      sleeps.push(ms);
      clock.now += ms;
    },
    now: () => clock.now,
    random: () => 0.5,
    onCall: (record) => calls.push(record),
    ...options,
  });
  return { client, script, sleeps, calls, clock };
}

/** Awaits `promise` expecting a rejection, and returns the error. */
export async function failureOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Error) return error;
    throw new Error(`rejected with a non-Error: ${String(error)}`);
  }
  throw new Error('expected a rejection, got a result');
}

/** Every text of an error a person or a log could see, including its causes. */
export function visibleText(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current instanceof Error && depth < 5; depth++) {
    parts.push(current.message, String(current.stack ?? ''), JSON.stringify({ ...current }));
    current = current.cause;
  }
  return parts.join('\n');
}
