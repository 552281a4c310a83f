// The custom metrics the functions publish (EMF, through metrics.ts) and the dashboard graphs and alarms read:
// one list, so a renamed metric cannot leave an empty graph or a silent alarm behind. Every metric carries the
// dimension `service` (the function's name); the AEP call metrics also carry `route` (`METHOD /route/template`),
// FilesRejected carries `prefix` (the file's first folder under incoming/); FilesSucceeded and FilesFailed are
// also published by `team` (the same folder: the team a file belongs to).
export const METRIC = {
  /** validate-file: data rows read, and the rows rejected, per file. */
  rows: 'Rows',
  invalidRows: 'InvalidRows',
  /** Every task: milliseconds one invocation took (the time spent in each stage). */
  stageDuration: 'StageDuration',
  /** AEP-side tasks, per route: milliseconds per HTTP attempt, attempts, and attempts after the first. */
  aepCallLatency: 'AepCallLatency',
  aepCalls: 'AepCalls',
  aepRetries: 'AepRetries',
  /** The functions that end a file: one per file, and the time from upload to that end. */
  filesSucceeded: 'FilesSucceeded',
  filesFailed: 'FilesFailed',
  fileDuration: 'FileDuration',
  /** An outcome message SNS refused: the team did not hear back (the reports still hold the outcome). */
  notificationFailures: 'NotificationFailures',
  /**
   * handle-failure, by `prefix`: a file refused because of the file or its manifest (REJECTED_FILE_CODES). The
   * team's to fix, graphed, never paged.
   */
  filesRejected: 'FilesRejected',
  /**
   * Every task, and record-execution-failure: an invocation that threw an error with no pipeline code (a bug,
   * an SDK AccessDenied, a malformed event): a fault, paged.
   */
  taskFaults: 'TaskFaults',
  /**
   * record-execution-failure: an execution that ended FAILED or ABORTED outside HandleFailure for another reason
   * than an outage past its retries (credentials AEP refuses, polls exhausted, a task's fault, a timeout of a
   * task, an abort). Paged: it waits for an operator.
   */
  executionsFailedUncaught: 'ExecutionsFailedUncaught',
  /**
   * record-execution-failure: an execution that failed with a retried code (AEP_UNAVAILABLE, AEP_BUSY, a Lambda
   * service error) after the state machine's retries ran out. Paged: redrive once the outage is over.
   */
  retriesExhausted: 'RetriesExhausted',
  /**
   * keep-alive, per run: audiences extended, expiry notices sent, and audiences whose upkeep failed (an
   * extend-ttl AEP refused, a notice SNS refused, a staged copy not retagged). Failures are paged: a kept-alive
   * audience may lapse.
   */
  audiencesExtended: 'AudiencesExtended',
  expiryNotices: 'ExpiryNotices',
  keepAliveFailures: 'KeepAliveFailures',
} as const;

export const SERVICE_DIMENSION = 'service';
export const ROUTE_DIMENSION = 'route';
export const PREFIX_DIMENSION = 'prefix';
/** FilesSucceeded and FilesFailed again, by `team`: the file's first folder under incoming/ (a team's folder). */
export const TEAM_DIMENSION = 'team';
