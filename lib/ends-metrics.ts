// OpenTelemetry metrics for ended connections, through @opentelemetry/api
// (an optional peer dependency: loaded only by enableMetrics, never at
// start-up). Two instruments, named in OpenTelemetry's style:
// - tcp_keepalive.connection.ended (counter, {connection}) by reason and side;
// - tcp_keepalive.connection.detection.duration (histogram, s): the
//   silence before keepalive, userTimeout or the retransmission limit
//   declared the connection dead.
import { onConnectionEnd, type ConnectionEnd } from './ends';
import { hideOwnFrames, noOpenTelemetry } from './errors';
import { validateKnownKeys, validateObject } from './validate';

/** The parts of an OpenTelemetry Meter this package uses. */
export interface MetricsMeter {
  createCounter(name: string, options?: { description?: string; unit?: string }): { add(value: number, attributes?: Record<string, string>): void };
  createHistogram(
    name: string,
    options?: { description?: string; unit?: string; advice?: { explicitBucketBoundaries?: number[] } },
  ): { record(value: number, attributes?: Record<string, string>): void };
}

/** The parts of an OpenTelemetry MeterProvider this package uses. */
export interface MetricsMeterProvider {
  getMeter(name: string): MetricsMeter;
}

export interface MetricsOptions {
  /** Where the meter comes from; default: the global one (`metrics.getMeterProvider()` of @opentelemetry/api). */
  meterProvider?: MetricsMeterProvider;
}

/** The instrument names, for dashboards and tests. */
export const METRIC_NAMES = Object.freeze({
  ended: 'tcp_keepalive.connection.ended',
  detection: 'tcp_keepalive.connection.detection.duration',
});

const DETECTED = new Set(['keepalive', 'user-timeout', 'retransmission']);
// Seconds: from a few (tuned settings) to Linux's defaults (7200 + 75 × 9 s, ~15 min of retransmissions).
const BUCKETS = [1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 3600, 7875];

function globalProvider(): MetricsMeterProvider {
  let api: { metrics: { getMeterProvider(): MetricsMeterProvider } };
  try {
    api = require('@opentelemetry/api') as typeof api;
  } catch (cause) {
    throw noOpenTelemetry(cause);
  }
  return api.metrics.getMeterProvider();
}

// One reporting per provider, however often enableMetrics is called for it
// (two listeners would count every end twice): each call takes a reference,
// each returned function gives its one back, the last one stops it.
const reporting = new Map<MetricsMeterProvider, { stop: () => void; references: number }>();

function startReporting(provider: MetricsMeterProvider): () => void {
  const meter = provider.getMeter('tcp-keepalive');
  const ended = meter.createCounter(METRIC_NAMES.ended, { description: 'TCP connections configured by tcp-keepalive that ended, by reason', unit: '{connection}' });
  const detection = meter.createHistogram(METRIC_NAMES.detection, {
    description: 'Silence from the last segment received until the connection was declared dead',
    unit: 's',
    advice: { explicitBucketBoundaries: BUCKETS },
  });
  return onConnectionEnd((record: ConnectionEnd) => {
    const attributes = { 'tcp_keepalive.reason': record.reason, 'tcp_keepalive.side': record.side };
    ended.add(1, attributes);
    if (record.silence !== null && DETECTED.has(record.reason)) detection.record(record.silence, attributes);
  });
}

/**
 * Reports every ended connection this package configured as OpenTelemetry
 * metrics. Returns a function that stops it. Calling it again for the same
 * provider reports each end once still; the reporting stops when every
 * returned function has been called (each counts once). Throws
 * ERR_KEEPALIVE_NO_OPENTELEMETRY when no meterProvider is given and
 * @opentelemetry/api is not installed; ERR_INVALID_ARG_TYPE for bad options.
 */
export function enableMetrics(options: MetricsOptions = {}): () => void {
  let held: { stop: () => void; references: number };
  let provider: MetricsMeterProvider;
  try {
    validateObject(options, 'options');
    validateKnownKeys(options, 'options', ['meterProvider'], 'option');
    if (options.meterProvider !== undefined) validateObject(options.meterProvider, 'options.meterProvider');
    provider = (options as MetricsOptions).meterProvider ?? globalProvider();
    held = reporting.get(provider) ?? { stop: startReporting(provider), references: 0 };
    reporting.set(provider, held);
    held.references++;
  } catch (error) {
    throw hideOwnFrames(error, enableMetrics);
  }
  let given = false;
  return () => {
    if (given) return;
    given = true;
    if (--held.references > 0) return;
    reporting.delete(provider);
    held.stop();
  };
}
