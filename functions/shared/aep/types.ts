// Public types of the AEP client (functions/shared/aep/client.ts). No AWS, no pipeline concepts here.

/**
 * The secret's value (docs/architecture.md#secrets). `imsUrl`/`platformUrl` are bases; the client appends the
 * paths.
 */
export interface AepCredentials {
  clientId: string;
  clientSecret: string;
  orgId: string;
  sandboxName: string;
  baseConnectionId: string;
  /** Comma-separated IMS scopes. */
  scopes?: string | undefined;
  /** Default `https://ims-na1.adobelogin.com`; the client posts to `${imsUrl}/ims/token/v3`. */
  imsUrl?: string | undefined;
  /** Default `https://platform.adobe.io`; AEP routes live under `${platformUrl}/data/…`. */
  platformUrl?: string | undefined;
}

export const AEP_FIELD_TYPES = [
  'string',
  'number',
  'long',
  'integer',
  'date',
  'datetime',
  'boolean',
] as const;
export type AepFieldType = (typeof AEP_FIELD_TYPES)[number];

export interface AudienceField {
  name: string;
  type: AepFieldType;
  identityNs?: string;
  labels?: string[];
}

/** What the pipeline asks for; the client builds the V6 body of docs/aep.md#external-audiences from it. */
export interface CreateAudienceInput {
  name: string;
  description?: string;
  fields: AudienceField[];
  /** Path inside the base connection, no spaces, no trailing slash. */
  sourcePath: string;
  sourceType: 'file' | 'folder';
  ttlInDays: number;
  labels?: string[];
}

export type OperationStatus = 'PROCESSING' | 'SUCCESS' | 'FAILED';

export interface AudienceOperation {
  operationId: string;
  /** Anything AEP answers that is not SUCCESS/FAILED is reported as PROCESSING. */
  status: OperationStatus;
  audienceId?: string;
  audienceName?: string;
  /** A readable reason when FAILED, if AEP gave one. */
  failureReason?: string;
}

export interface RunStage {
  stage: string;
  status: string;
  flowRunId?: string;
  /** AEP's reason when the stage failed, if it gave one (undocumented; read from the usual fields). */
  failureReason?: string;
}

export interface AudienceRun {
  audienceId: string;
  runId: string;
  /** SUCCESS, FAILED, or PROCESSING for any other (undocumented in-flight) value. */
  status: OperationStatus;
  dataFilterStartTime?: number;
  dataFilterEndTime?: number;
  /** Epoch seconds. */
  createdAt?: number;
  details: RunStage[];
  /** AEP's reason when the run failed, if it gave one. */
  failureReason?: string;
}

/** One error a Flow Service run lists; `message` may quote a value from the data (mask it before showing it). */
export interface FlowRunError {
  code?: string;
  message: string;
}

/** A Flow Service run (`GET /data/foundation/flowservice/runs/{id}`), as far as it explains a failure. */
export interface FlowRun {
  id: string;
  /** `metrics.statusSummary.status` as AEP wrote it (success, failed…; the examples are lower case). */
  status?: string;
  /** The run's errors, then its activities', each once. */
  errors: FlowRunError[];
}

export interface StartRunInput {
  /** Epoch seconds. */
  dataFilterStartTime: number;
  /** Epoch seconds. */
  dataFilterEndTime?: number;
  /**
   * Runs other files already hold (not sent to AEP): a run found after an unanswered POST is adopted only if
   * it is none of them, since two files staged within the same seconds ask for the same time window.
   */
  claimedRunIds?: readonly string[];
}

export interface BatchExportSettings {
  exportMode: 'DAILY_FULL_EXPORT' | 'FIRST_FULL_THEN_INCREMENTAL';
  schedule: {
    frequency: string;
    triggerType?: 'SCHEDULED' | 'AFTER_SEGMENT_EVAL';
    startDate: string;
    endDate?: string;
    startTime?: string;
  };
  filenameTemplate: string;
}

export interface AddToDataflowInput {
  flowId: string;
  audienceId: string;
  audienceName?: string;
  /** Present for file-based (batch) destinations. */
  batch?: BatchExportSettings;
  /**
   * Audiences this one replaces (a rollover's earlier generations): their selectors go in the same PATCH, and
   * without `batch` the new selector takes over the first one's export settings.
   */
  replacesAudienceIds?: string[];
  /** Change the flow only where one of `replacesAudienceIds` is selected (a dataflow only they were in). */
  onlyWhereReplaced?: boolean;
}

/**
 * ADDED: the selector was added. ALREADY_PRESENT: it was there, nothing to do. REPLACED: it is there and the
 * replaced audience's selector is not any more. NOT_PRESENT: `onlyWhereReplaced` and neither audience is there.
 */
export type AddToDataflowOutcome = 'ADDED' | 'ALREADY_PRESENT' | 'REPLACED' | 'NOT_PRESENT';

/** One HTTP exchange, reported to an observer for metrics and tests; never holds headers or bodies. */
export interface AepCallRecord {
  route: string;
  method: string;
  status: number | 'NETWORK_ERROR';
  attempt: number;
  durationMs: number;
}
