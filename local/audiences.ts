// `aep-audience audiences`, `audiences delete` and `keep-alive`: the registry's audiences listed (locally, or
// the deployed stack's with --stack), an audience deleted and the KeepAlive handler run, each through the very
// function the stack deploys (locally in the runner, deployed by Lambda Invoke: AEP credentials stay in AWS).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Registry, type RegistryItem } from '../functions/shared/registry.ts';
import { LocalUsageError } from './runner/usage-error.ts';

/** One line of `audiences --json` (docs/contracts.md#audiences-json). */
export interface AudienceListing {
  name: string;
  audienceId: string | null;
  team: string | null;
  sandbox: string | null;
  generation: number;
  runsUsed: number;
  lastRunAt: string | null;
  expiresAt: string | null;
  keepAlive: boolean;
  destinations: { flowId: string; kind: string }[];
}

export function audienceListing(item: RegistryItem): AudienceListing {
  return {
    name: item.audienceName,
    audienceId: item.audienceId ?? null,
    team: item.team ?? null,
    sandbox: item.sandbox ?? null,
    generation: item.generation ?? 1,
    runsUsed: item.runCount,
    lastRunAt: item.lastRunAt ?? null,
    expiresAt: item.expiresAt ?? null,
    keepAlive: item.keepAlive === true,
    destinations: Object.entries(item.flows ?? {})
      .map(([flowId, kind]) => ({ flowId, kind }))
      .sort((a, b) => a.flowId.localeCompare(b.flowId)),
  };
}

/** The audiences the pipeline created and still has, by name; deleted ones are left out. */
export function listing(items: RegistryItem[]): AudienceListing[] {
  return items
    .filter((item) => item.deletedAt === undefined)
    .map(audienceListing)
    .sort((a, b) => a.name.localeCompare(b.name) || a.generation - b.generation);
}

export function formatAudiences(audiences: AudienceListing[]): string {
  if (audiences.length === 0) return 'No audiences in the registry.\n';
  const rows = audiences.map((a) => [
    a.name,
    a.audienceId ?? '-',
    a.team ?? '-',
    String(a.runsUsed),
    a.lastRunAt?.slice(0, 10) ?? '-',
    a.expiresAt?.slice(0, 10) ?? '-',
    a.keepAlive ? 'yes' : 'no',
    String(a.destinations.length),
  ]);
  const header = ['NAME', 'AUDIENCE ID', 'TEAM', 'RUNS', 'LAST RUN', 'EXPIRES', 'KEEP ALIVE', 'FLOWS'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  const line = (cells: string[]) =>
    `${cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd()}\n`;
  return line(header) + rows.map(line).join('');
}

/**
 * The local registry of a target's state folder (`.local/<target>/registry`), read under the state lock so no
 * run writes it meanwhile. No folder yet: no audience.
 */
export async function localRegistryItems(stateDir: string): Promise<RegistryItem[]> {
  const registryPath = path.join(stateDir, 'registry');
  if (!existsSync(registryPath)) return [];
  const [{ acquireStateLock }, { startDynalite }, { LOCAL_TABLE }] = await Promise.all([
    import('./runner/state-lock.ts'),
    import('./dynamo.ts'),
    import('./runner/local-names.ts'),
  ]);
  const release = acquireStateLock(stateDir);
  const dynamo = await startDynalite({ path: registryPath });
  const raw = new DynamoDBClient({
    endpoint: dynamo.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  try {
    const registry = new Registry({ client: DynamoDBDocumentClient.from(raw), tableName: LOCAL_TABLE });
    return await registry.list();
  } catch (error) {
    if ((error as Error).name === 'ResourceNotFoundException') return [];
    throw error;
  } finally {
    raw.destroy();
    await dynamo.close();
    release();
  }
}

/** The deployed stack's registry, read with the operator's credentials (a Scan of its table). */
export async function stackRegistryItems(
  tableName: string,
  region: string | undefined,
): Promise<RegistryItem[]> {
  const raw = new DynamoDBClient(region ? { region } : {});
  try {
    return await new Registry({ client: DynamoDBDocumentClient.from(raw), tableName }).list();
  } finally {
    raw.destroy();
  }
}

/** Runs one of the stack's functions in the local runner (the same handler, grants and environment). */
export async function invokeLocally(
  options: { stateDir: string; aepUrl?: string | undefined; progress?: (line: string) => void },
  functionName: 'keep-alive' | 'delete-audience',
  payload: unknown,
): Promise<unknown> {
  const { LocalPipeline } = await import('./runner/pipeline.ts');
  const pipeline = await LocalPipeline.start({
    stateDir: options.stateDir,
    ...(options.aepUrl ? { aepUrl: options.aepUrl } : {}),
    ...(options.progress ? { progress: options.progress } : {}),
  });
  try {
    const fn = pipeline.functionNamed(functionName);
    if (!fn) throw new LocalUsageError(`the synthesized template has no ${functionName} function`);
    return await pipeline.invoke(fn, payload);
  } finally {
    await pipeline.close();
  }
}
