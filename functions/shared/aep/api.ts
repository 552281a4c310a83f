// The AEP operations the pipeline's tasks use. AepClient (client.ts) implements it over HTTP; unit tests of
// the tasks may pass a fake. Every method throws the typed errors of errors.ts.
import type {
  AddToDataflowInput,
  AddToDataflowOutcome,
  AudienceOperation,
  AudienceRun,
  CreateAudienceInput,
  FlowRun,
  StartRunInput,
} from './types.ts';

export type CreateAudienceResult =
  /** AEP accepted the create; poll the operation. */
  | { kind: 'STARTED'; operationId: string }
  /**
   * A first attempt failed ambiguously (5xx, timeout, dropped connection) and the re-POST got 409 for this
   * very name: the first attempt took effect. Resolve the id with findAudienceByName.
   */
  | { kind: 'ALREADY_CREATED' };

export interface AepApi {
  /** POST /data/core/ais/external-audience/. A plain 409 (not after an ambiguous attempt) throws AepConflictError. */
  createAudience(input: CreateAudienceInput): Promise<CreateAudienceResult>;
  /** GET /data/core/ais/external-audience/operations/{id} (plural path tried once on 404). */
  getOperation(operationId: string): Promise<AudienceOperation>;
  /**
   * The audience of exactly this name (case-insensitive), or undefined. Through the Segmentation audiences
   * listing: GET /data/core/ups/audiences?property=name==<name> → {children:[{id,name,…}]}.
   */
  findAudienceByName(name: string): Promise<{ audienceId: string; name: string } | undefined>;
  /**
   * POST /data/core/ais/external-audience/{id}/runs. On an ambiguous failure it lists the runs and adopts one
   * with the same data filter window before it writes again. 422 "run in progress" → AepRunInProgressError;
   * 422 guardrail → AepLimitError.
   */
  startRun(audienceId: string, input: StartRunInput): Promise<AudienceRun>;
  /** GET /data/core/ais/external-audience/{id}/runs/{runId}. */
  getRun(audienceId: string, runId: string): Promise<AudienceRun>;
  /** GET /data/core/ais/external-audience/{id}/runs. */
  listRuns(audienceId: string): Promise<AudienceRun[]>;
  /**
   * GET /data/foundation/flowservice/runs/{id}: the Flow Service run behind a stage of an ingestion run (its
   * `flowRunId`), for the reasons of a failure. A short read (two attempts): it explains a failure already known.
   */
  getFlowRun(flowRunId: string): Promise<FlowRun>;
  /**
   * GET the flow for its etag; ALREADY_PRESENT when a selector with this audience id is there; else PATCH with
   * a quoted If-Match; on 412 re-GET and re-apply (bounded); an ambiguous PATCH failure is resolved by re-GET.
   * With `replacesAudienceIds`, the same PATCH removes those audiences' selectors (one etag, one atomic change).
   */
  addAudienceToDataflow(input: AddToDataflowInput): Promise<AddToDataflowOutcome>;
}

/** What AEP answers to an extend-ttl: `{audienceId, name}` (docs/aep.md#audience-upkeep). */
export interface ExtendTtlResult {
  audienceId: string;
  name?: string;
}

/**
 * The upkeep operations (the KeepAlive and DeleteAudience functions, docs/aep.md#audience-upkeep): apart from
 * AepApi so that the tasks' fakes need not grow them.
 */
export interface AepUpkeepApi {
  /**
   * POST /data/core/ais/external-audience/extend-ttl/{id}: AEP extends the audience's data expiration by its
   * original TTL and re-ingests its last successful run. 200 `{audienceId, name}`.
   */
  extendTtl(audienceId: string): Promise<ExtendTtlResult>;
  /**
   * DELETE /data/core/ais/external-audience/{id}: 204. NOT_FOUND when AEP does not know the audience (deleted
   * already, or by an earlier attempt whose answer was lost).
   */
  deleteAudience(audienceId: string): Promise<'DELETED' | 'NOT_FOUND'>;
  /**
   * Removes every selector of `audienceId` from the dataflow (GET for the etag, PATCH `remove` with If-Match,
   * re-read on 412). NOT_PRESENT when the flow does not select it.
   */
  removeAudienceFromDataflow(flowId: string, audienceId: string): Promise<'REMOVED' | 'NOT_PRESENT'>;
}
