// The functions' metrics: Powertools Metrics (CloudWatch EMF) written through the log sink (stdout in Lambda),
// flushed at the end of each invocation by Powertools' logMetrics middleware, each blob carrying the
// invocation's correlation id (the execution name). Every metric has the dimension `service`; AEP call
// metrics are published per route (metric-names.ts).
//
// Powertools publishes by itself when a metric reaches 100 values (EMF's limit per blob) and then clears the
// dimensions and metadata it was given per request. So nothing here is a request dimension: a route's metrics,
// and a count by another dimension (FilesRejected by `prefix`), live in a Metrics instance of their own with
// that dimension as a default one, which Powertools keeps, and the correlation id is added again to every blob
// as it is written, whoever starts the publish. A second dimension set in the function's own blob would not do:
// EMF publishes every metric of a blob under each of its dimension sets.
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { AepCallRecord } from './aep/types.ts';
import { writeLogLine } from './log.ts';
import { METRIC, ROUTE_DIMENSION } from './metric-names.ts';

export const DEFAULT_METRICS_NAMESPACE = 'AepAudiencePipeline';

/** The current invocation's correlation id, shared by a function's Metrics instances. */
interface Correlation {
  id: string | undefined;
}

type MetricsOptions = NonNullable<ConstructorParameters<typeof Metrics>[0]>;

/** Powertools Metrics writing its EMF blobs where log lines go, each with the correlation id. */
class SinkMetrics extends Metrics {
  constructor(
    options: MetricsOptions,
    protected readonly correlation: Correlation,
  ) {
    super(options);
  }

  override publishStoredMetrics(): this {
    try {
      if (this.hasStoredMetrics() && !this.isDisabled()) {
        if (this.correlation.id) this.addMetadata('correlationId', this.correlation.id);
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

/** One route's metrics: latencies as they come, calls and retries summed and added to the blob that goes out. */
class RouteMetrics extends SinkMetrics {
  private calls = 0;
  private retries = 0;

  record(record: AepCallRecord): void {
    this.calls += 1;
    if (record.attempt > 1) this.retries += 1;
    // May publish (the 100th value): the blob then takes the counts so far, later blobs the rest.
    this.addMetric(
      METRIC.aepCallLatency,
      MetricUnit.Milliseconds,
      Math.max(0, Math.round(record.durationMs)),
    );
  }

  override publishStoredMetrics(): this {
    if (this.calls > 0) {
      // Straight into the store: at most two values, far from the limit that would publish on its own.
      this.addMetric(METRIC.aepCalls, MetricUnit.Count, this.calls);
      this.addMetric(METRIC.aepRetries, MetricUnit.Count, this.retries);
      this.calls = 0;
      this.retries = 0;
    }
    return super.publishStoredMetrics();
  }
}

/**
 * A function's metrics; the instance Powertools' `logMetrics` middleware flushes. Its own blob carries the
 * dimension `service` only; each route's blobs follow it with `service` and `route`.
 */
export class PipelineMetrics extends SinkMetrics {
  private readonly options: { serviceName: string; namespace: string };
  private readonly routes = new Map<string, RouteMetrics>();
  /** By `dimension=value`: one instance per value seen by this execution environment. */
  private readonly dimensioned = new Map<string, SinkMetrics>();

  constructor(service: string, namespace = process.env.POWERTOOLS_METRICS_NAMESPACE) {
    const options = { serviceName: service, namespace: namespace || DEFAULT_METRICS_NAMESPACE };
    super(options, { id: undefined });
    this.options = options;
  }

  /** Every blob from now on carries `correlationId` (the correlation middleware sets it per invocation). */
  setCorrelationId(id: string | undefined): void {
    this.correlation.id = id;
  }

  count(name: string, value = 1): void {
    this.addMetric(name, MetricUnit.Count, value);
  }

  /**
   * Counts `name` under `service` and one more dimension. Each value is a metric of its own in CloudWatch: only
   * for dimensions whose values are few (a drop prefix, not a file name).
   */
  countBy(name: string, dimension: string, dimensionValue: string, value = 1): void {
    const id = `${dimension}=${dimensionValue}`;
    let metrics = this.dimensioned.get(id);
    if (!metrics) {
      metrics = new SinkMetrics(
        { ...this.options, defaultDimensions: { [dimension]: dimensionValue } },
        this.correlation,
      );
      this.dimensioned.set(id, metrics);
    }
    metrics.addMetric(name, MetricUnit.Count, value);
  }

  milliseconds(name: string, value: number): void {
    this.addMetric(name, MetricUnit.Milliseconds, Math.max(0, Math.round(value)));
  }

  /** The AEP client's per-attempt observer: latency, calls and retries, by `METHOD /route`. */
  readonly aepCall = (record: AepCallRecord): void => {
    const route = `${record.method} ${record.route}`;
    let metrics = this.routes.get(route);
    if (!metrics) {
      metrics = new RouteMetrics(
        { ...this.options, defaultDimensions: { [ROUTE_DIMENSION]: route } },
        this.correlation,
      );
      this.routes.set(route, metrics);
    }
    metrics.record(record);
  };

  /** The function's own metrics first, then every route's, then the counts by another dimension. */
  override publishStoredMetrics(): this {
    super.publishStoredMetrics();
    for (const route of this.routes.values()) route.publishStoredMetrics();
    for (const metrics of this.dimensioned.values()) metrics.publishStoredMetrics();
    return this;
  }
}
