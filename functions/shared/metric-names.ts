// The custom metrics the functions publish (EMF, through metrics.ts) and the dashboard graphs: one list, so a
// renamed metric cannot leave an empty graph behind. Every metric carries the dimension `service` (the
// function's name); the AEP call metrics also carry `route` (`METHOD /route/template`).
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
} as const;

export const SERVICE_DIMENSION = 'service';
export const ROUTE_DIMENSION = 'route';
