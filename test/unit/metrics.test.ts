// PipelineMetrics keeps each blob's dimensions and correlation id however many values an invocation records:
// Powertools publishes on its own at a metric's 100th value and clears what it was given per request.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { setDefaultLogSink } from '../../functions/shared/log.ts';
import {
  METRIC,
  PREFIX_DIMENSION,
  ROUTE_DIMENSION,
  SERVICE_DIMENSION,
} from '../../functions/shared/metric-names.ts';
import { PipelineMetrics } from '../../functions/shared/metrics.ts';

interface EmfBlob {
  _aws: {
    CloudWatchMetrics: {
      Namespace: string;
      Dimensions: string[][];
      Metrics: { Name: string; Unit: string }[];
    }[];
  };
  [key: string]: unknown;
}

let blobs: EmfBlob[] = [];
beforeEach(() => {
  blobs = [];
  setDefaultLogSink((line) => blobs.push(JSON.parse(line) as EmfBlob));
});
afterEach(() => {
  setDefaultLogSink((line) => process.stdout.write(`${line}\n`));
});

const BUSY_ROUTE = 'GET /ais/external-audience/{id}';
const QUIET_ROUTE = 'POST /ais/external-audience/';

function values(blob: EmfBlob, name: string): number[] {
  const value = blob[name];
  if (value === undefined) return [];
  return Array.isArray(value) ? (value as number[]) : [value as number];
}

function metricNames(blob: EmfBlob): string[] {
  return blob._aws.CloudWatchMetrics[0]!.Metrics.map((m) => m.Name);
}

describe('PipelineMetrics', () => {
  it('gives every blob of a route with more than 100 values its route dimension and the correlation id', () => {
    const metrics = new PipelineMetrics('check-audience', 'Test');
    metrics.setCorrelationId('exec-busy');
    for (let i = 0; i < 250; i += 1) {
      metrics.aepCall({
        method: 'GET',
        route: '/ais/external-audience/{id}',
        status: 200,
        attempt: i % 5 === 4 ? 2 : 1,
        durationMs: i,
      });
    }
    for (let i = 0; i < 3; i += 1) {
      metrics.aepCall({
        method: 'POST',
        route: '/ais/external-audience/',
        status: 202,
        attempt: 1,
        durationMs: 40,
      });
    }
    // The function's own metric past 100 values too.
    for (let i = 0; i < 120; i += 1) metrics.milliseconds(METRIC.stageDuration, i);
    metrics.publishStoredMetrics();

    expect(blobs.length).toBeGreaterThanOrEqual(5);
    for (const blob of blobs) {
      expect(blob.correlationId).toBe('exec-busy');
      expect(blob._aws.CloudWatchMetrics[0]!.Namespace).toBe('Test');
      expect(blob[SERVICE_DIMENSION]).toBe('check-audience');
      for (const name of metricNames(blob)) expect(values(blob, name).length).toBeLessThanOrEqual(100);
    }

    const aepNames: string[] = [METRIC.aepCallLatency, METRIC.aepCalls, METRIC.aepRetries];
    const routeBlobs = blobs.filter((b) => metricNames(b).some((n) => aepNames.includes(n)));
    for (const blob of routeBlobs) {
      expect(blob[ROUTE_DIMENSION]).toMatch(/^(GET|POST) /);
      expect(blob._aws.CloudWatchMetrics[0]!.Dimensions).toEqual([[SERVICE_DIMENSION, ROUTE_DIMENSION]]);
      // Route blobs carry AEP metrics only; the function's own never take the route.
      expect(metricNames(blob).every((n) => aepNames.includes(n))).toBe(true);
    }
    const own = blobs.filter((b) => !routeBlobs.includes(b));
    for (const blob of own) {
      expect(blob[ROUTE_DIMENSION]).toBeUndefined();
      expect(blob._aws.CloudWatchMetrics[0]!.Dimensions).toEqual([[SERVICE_DIMENSION]]);
    }
    expect(own.flatMap((b) => values(b, METRIC.stageDuration))).toHaveLength(120);

    const ofRoute = (route: string, name: string) =>
      routeBlobs.filter((b) => b[ROUTE_DIMENSION] === route).flatMap((b) => values(b, name));
    expect(ofRoute(BUSY_ROUTE, METRIC.aepCallLatency)).toHaveLength(250);
    expect(ofRoute(BUSY_ROUTE, METRIC.aepCalls).reduce((a, b) => a + b, 0)).toBe(250);
    expect(ofRoute(BUSY_ROUTE, METRIC.aepRetries).reduce((a, b) => a + b, 0)).toBe(50);
    expect(ofRoute(QUIET_ROUTE, METRIC.aepCallLatency)).toEqual([40, 40, 40]);
    expect(ofRoute(QUIET_ROUTE, METRIC.aepCalls)).toEqual([3]);
    expect(ofRoute(QUIET_ROUTE, METRIC.aepRetries)).toEqual([0]);
  });

  it('publishes nothing for an invocation that recorded nothing, and nothing twice', () => {
    const metrics = new PipelineMetrics('archive-file', 'Test');
    metrics.setCorrelationId('exec-1');
    metrics.publishStoredMetrics();
    expect(blobs).toEqual([]);

    metrics.aepCall({ method: 'GET', route: '/x', status: 200, attempt: 1, durationMs: 5 });
    metrics.publishStoredMetrics();
    metrics.setCorrelationId('exec-2');
    metrics.publishStoredMetrics();
    expect(blobs).toHaveLength(1);
    expect(blobs[0]).toMatchObject({ correlationId: 'exec-1', route: 'GET /x', AepCalls: 1, AepRetries: 0 });
  });

  it('publishes a count by another dimension in a blob of its own per value, the own blob untouched', () => {
    const metrics = new PipelineMetrics('handle-failure', 'Test');
    metrics.setCorrelationId('exec-1');
    metrics.count(METRIC.filesFailed);
    metrics.countBy(METRIC.filesRejected, PREFIX_DIMENSION, 'teamA');
    metrics.countBy(METRIC.filesRejected, PREFIX_DIMENSION, 'teamB');
    metrics.publishStoredMetrics();
    metrics.setCorrelationId('exec-2');
    metrics.countBy(METRIC.filesRejected, PREFIX_DIMENSION, 'teamA');
    metrics.publishStoredMetrics();

    expect(
      blobs.map((b) => [metricNames(b), b._aws.CloudWatchMetrics[0]!.Dimensions, b[PREFIX_DIMENSION]]),
    ).toEqual([
      [[METRIC.filesFailed], [[SERVICE_DIMENSION]], undefined],
      [[METRIC.filesRejected], [[SERVICE_DIMENSION, PREFIX_DIMENSION]], 'teamA'],
      [[METRIC.filesRejected], [[SERVICE_DIMENSION, PREFIX_DIMENSION]], 'teamB'],
      [[METRIC.filesRejected], [[SERVICE_DIMENSION, PREFIX_DIMENSION]], 'teamA'],
    ]);
    expect(blobs.map((b) => b.correlationId)).toEqual(['exec-1', 'exec-1', 'exec-1', 'exec-2']);
    expect(blobs.every((b) => b[SERVICE_DIMENSION] === 'handle-failure')).toBe(true);
  });
});
