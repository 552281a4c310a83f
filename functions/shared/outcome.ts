// The end of a file, whichever function ends it (ArchiveFile, HandleFailure, record-execution-failure): its
// outcome notification and its outcome metrics.
import type { Logger } from './log.ts';
import { METRIC, PREFIX_DIMENSION, TEAM_DIMENSION } from './metric-names.ts';
import type { PipelineMetrics } from './metrics.ts';
import { topFolder } from './naming.ts';
import type { NotificationMessage, Notifier } from './notify.ts';
import { isRejectedFileCode } from './pipeline-errors.ts';

/** The `prefix` of a file at the top of incoming/. */
export const ROOT_PREFIX = '(root)';
/** CloudWatch takes dimension values of at most 1,024 characters; a folder name that long is no use on a graph. */
const MAX_PREFIX_LENGTH = 128;

/**
 * The `prefix` dimension of a file: its first folder under incoming/, or `(root)`. One value per top-level
 * folder, whatever lies below it, so the number of metrics stays that of the teams that drop files. CloudWatch
 * takes ASCII dimension values only: anything else becomes `?`.
 */
export function prefixDimension(key: string): string {
  const folder = topFolder(key)
    .replace(/[^\x20-\x7e]/g, '?')
    .slice(0, MAX_PREFIX_LENGTH)
    .trim();
  return folder || ROOT_PREFIX;
}

export interface OutcomeReporting {
  notifier: Notifier;
  metrics: PipelineMetrics;
  logger: Logger;
  now: () => Date;
}

/**
 * Publishes the message and counts the outcome. A refused publish is logged and counted, not thrown: the
 * file's outcome is already in its reports and the execution's status, and failing the task now would turn a
 * finished file into a failed (or retried) execution.
 */
export async function reportOutcome(
  message: NotificationMessage,
  eventTime: string | undefined,
  deps: OutcomeReporting,
): Promise<void> {
  const { outcome, code, file } = message.document;
  const outcomeMetric = outcome === 'SUCCEEDED' ? METRIC.filesSucceeded : METRIC.filesFailed;
  deps.metrics.count(outcomeMetric);
  // By team for the dashboard: one series per top folder, as many as the teams that drop files.
  deps.metrics.countBy(outcomeMetric, TEAM_DIMENSION, prefixDimension(file));
  // A rejected file is the uploader's to fix: counted by drop prefix for the dashboard, never an alarm.
  if (outcome === 'FAILED' && code && isRejectedFileCode(code)) {
    deps.metrics.countBy(METRIC.filesRejected, PREFIX_DIMENSION, prefixDimension(file));
  }
  const uploadedAt = eventTime ? Date.parse(eventTime) : Number.NaN;
  if (!Number.isNaN(uploadedAt)) {
    deps.metrics.milliseconds(METRIC.fileDuration, deps.now().getTime() - uploadedAt);
  }
  try {
    await deps.notifier.publish(message);
    deps.logger.info('outcome notified', { outcome, subject: message.subject });
  } catch (error) {
    deps.metrics.count(METRIC.notificationFailures);
    deps.logger.error('outcome notification not published', {
      outcome,
      error: error instanceof Error ? error.name : 'Error',
      reason: error instanceof Error ? error.message : String(error),
    });
  }
}
