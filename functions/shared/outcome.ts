// The end of a file, whichever function ends it (ArchiveFile, HandleFailure, record-execution-failure): its
// outcome notification and its outcome metrics.
import type { Logger } from './log.ts';
import { METRIC } from './metric-names.ts';
import type { PipelineMetrics } from './metrics.ts';
import type { NotificationMessage, Notifier } from './notify.ts';

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
  const { outcome } = message.document;
  deps.metrics.count(outcome === 'SUCCEEDED' ? METRIC.filesSucceeded : METRIC.filesFailed);
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
