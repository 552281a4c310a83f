// DeleteAudience, invoked by `aep-audience audiences delete <name>`: under the audience lock (no run of the
// audience meanwhile), remove the audience from the dataflows the pipeline added it to, delete it in AEP, mark it
// deleted in the registry and let its kept staged copy expire. Without `confirm` it only says what it would do.
import type { AepUpkeepApi } from '../shared/aep/api.ts';
import { AUDIENCE_LOCK_TTL_SECONDS, type Coordination } from '../shared/coordination.ts';
import type { Logger } from '../shared/log.ts';
import type { Registry } from '../shared/registry.ts';
import type { StagedRetention } from '../shared/upkeep.ts';

export interface DeleteAudienceEvent {
  /** The audience's name (its registry key is the name lower-cased, in its team's sandbox for a team's). */
  name: string;
  /** The configured team the audience belongs to (`aep-audience audiences delete <name> --team T`). */
  team?: string | undefined;
  /** False or absent: a dry run, nothing changed. */
  confirm?: boolean;
}

export type DeleteAudienceResult =
  | { status: 'NOT_FOUND'; name: string; message: string }
  | { status: 'ALREADY_DELETED'; name: string; audienceId: string | null; deletedAt: string }
  | { status: 'BUSY'; name: string; message: string }
  | {
      status: 'WOULD_DELETE' | 'DELETED';
      name: string;
      audienceId: string | null;
      /** The dataflows it is (DELETED: was) removed from, with what was done there. */
      flows: { flowId: string; status: 'REMOVED' | 'NOT_PRESENT' | 'WOULD_REMOVE' }[];
      /** What AEP answered to the DELETE (DELETED only). */
      aep?: 'DELETED' | 'NOT_FOUND';
      deletedAt?: string;
      /** What is (or would be) done, one line per step, for people. */
      steps: string[];
    };

export interface DeleteAudienceDeps {
  aep: AepUpkeepApi;
  /** The registry key of the event's audience (a team's is scoped by its sandbox); default the name. */
  keyOf?: ((event: DeleteAudienceEvent) => string) | undefined;
  registry: Registry;
  coordination: Coordination;
  staging?: StagedRetention | undefined;
  /** The lock's owner: unique per invocation (the Lambda request id). */
  owner: string;
  logger?: Logger | undefined;
}

export async function deleteAudience(
  event: DeleteAudienceEvent,
  deps: DeleteAudienceDeps,
): Promise<DeleteAudienceResult> {
  const name = event.name;
  const key = deps.keyOf ? deps.keyOf(event) : name.toLowerCase();
  const item = await deps.registry.get(key);
  if (!item) {
    return {
      status: 'NOT_FOUND',
      name,
      message: `No audience named "${name}" in the registry (aep-audience audiences lists them)`,
    };
  }
  const audienceId = item.audienceId ?? null;
  if (item.deletedAt !== undefined) {
    return { status: 'ALREADY_DELETED', name: item.audienceName, audienceId, deletedAt: item.deletedAt };
  }
  const flowIds = Object.keys(item.flows ?? {}).sort();
  const steps = [
    ...flowIds.map((flowId) => `remove audience ${audienceId} from dataflow ${flowId}`),
    audienceId
      ? `DELETE /data/core/ais/external-audience/${audienceId} in AEP`
      : 'nothing to delete in AEP (its creation never finished)',
    `mark "${item.audienceName}" deleted in the registry (a later upload of the name creates a new audience)`,
    ...(item.keptStagedKey ? [`let the kept staged copy ${item.keptStagedKey} expire`] : []),
  ];
  if (!event.confirm) {
    const flows = flowIds.map((flowId) => ({ flowId, status: 'WOULD_REMOVE' as const }));
    return { status: 'WOULD_DELETE', name: item.audienceName, audienceId, flows, steps };
  }

  const lock = await deps.coordination.acquire('audience', key, deps.owner, AUDIENCE_LOCK_TTL_SECONDS);
  if (!lock.acquired) {
    return {
      status: 'BUSY',
      name: item.audienceName,
      message: `Execution ${lock.holder} holds audience "${item.audienceName}" (a run in progress) until ${new Date(lock.expiresAt).toISOString()}; try again after it`,
    };
  }
  try {
    const flows: { flowId: string; status: 'REMOVED' | 'NOT_PRESENT' }[] = [];
    let aep: 'DELETED' | 'NOT_FOUND' = 'NOT_FOUND';
    if (audienceId) {
      // Out of the dataflows first: a destination must not keep activating an audience AEP no longer has.
      for (const flowId of flowIds) {
        flows.push({ flowId, status: await deps.aep.removeAudienceFromDataflow(flowId, audienceId) });
      }
      aep = await deps.aep.deleteAudience(audienceId);
    }
    const deletedAt = await deps.registry.markDeleted(key);
    if (item.keptStagedKey && deps.staging) {
      await deps.staging.release(item.keptStagedKey);
      await deps.registry.recordKeptStagedKey(key, undefined);
    }
    deps.logger?.info('audience deleted', { audience: item.audienceName, audienceId, aep });
    return { status: 'DELETED', name: item.audienceName, audienceId, flows, aep, deletedAt, steps };
  } finally {
    await deps.coordination.release('audience', key, deps.owner);
  }
}
