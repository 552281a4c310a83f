// The functions' metrics: Powertools Metrics (CloudWatch EMF), published once per invocation through the log
// sink (stdout in Lambda, the execution's log file locally), each blob carrying the execution name.
// Every metric has the dimension `service`; AEP call metrics are published per route (metric-names.ts).
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { AepCallRecord } from './aep/types.ts';
import { writeLogLine } from './log.ts';
import { METRIC, ROUTE_DIMENSION } from './metric-names.ts';

export const DEFAULT_METRICS_NAMESPACE = 'AepAudiencePipeline';
/** EMF allows 100 values per metric in one blob. */
const MAX_VALUES_PER_BLOB = 100;

/** Powertools Metrics writing its EMF blobs where log lines go instead of to its own console. */
class SinkMetrics extends Metrics {
  override publishStoredMetrics(): this {
    try {
      if (this.hasStoredMetrics() && !this.isDisabled()) {
        writeLogLine(JSON.stringify(this.serializeMetrics()));
      }
    } finally {
      this.clearMetrics();
      this.clearDimensions();
      this.clearMetadata();
    }
    return this;
  }
}

interface RouteStats {
  latenciesMs: number[];
  calls: number;
  retries: number;
}

export class PipelineMetrics {
  private readonly metrics: SinkMetrics;
  private readonly routes = new Map<string, RouteStats>();

  constructor(service: string, namespace = process.env.POWERTOOLS_METRICS_NAMESPACE) {
    this.metrics = new SinkMetrics({
      serviceName: service,
      namespace: namespace || DEFAULT_METRICS_NAMESPACE,
    });
  }

  count(name: string, value = 1): void {
    this.metrics.addMetric(name, MetricUnit.Count, value);
  }

  milliseconds(name: string, value: number): void {
    this.metrics.addMetric(name, MetricUnit.Milliseconds, Math.max(0, Math.round(value)));
  }

  /** The AEP client's per-attempt observer: latency, calls and retries, by `METHOD /route`. */
  readonly aepCall = (record: AepCallRecord): void => {
    const route = `${record.method} ${record.route}`;
    let stats = this.routes.get(route);
    if (!stats) {
      stats = { latenciesMs: [], calls: 0, retries: 0 };
      this.routes.set(route, stats);
    }
    stats.latenciesMs.push(record.durationMs);
    stats.calls += 1;
    if (record.attempt > 1) stats.retries += 1;
  };

  /** Publishes everything recorded since the last flush; `correlationId` is the execution name. */
  flush(correlationId: string | undefined): void {
    const publish = () => {
      if (correlationId) this.metrics.addMetadata('correlationId', correlationId);
      this.metrics.publishStoredMetrics();
    };
    // The invocation's own metrics first: the per-route blobs below add a dimension theirs must not have.
    if (this.metrics.hasStoredMetrics()) publish();
    for (const [route, stats] of this.routes) {
      for (let start = 0; start < stats.latenciesMs.length; start += MAX_VALUES_PER_BLOB) {
        this.metrics.addDimension(ROUTE_DIMENSION, route);
        for (const ms of stats.latenciesMs.slice(start, start + MAX_VALUES_PER_BLOB)) {
          this.milliseconds(METRIC.aepCallLatency, ms);
        }
        if (start === 0) {
          this.count(METRIC.aepCalls, stats.calls);
          this.count(METRIC.aepRetries, stats.retries);
        }
        publish();
      }
    }
    this.routes.clear();
  }
}
