/**
 * Prometheus metrics of a worker: the Temporal SDK's own exporter serves the SDK's metrics and
 * rigsweep's (created through the SDK's metric meter) on one `/metrics` endpoint, so operators
 * scrape one port. The exporter belongs to the process-wide Runtime, which is installed once,
 * before the first NativeConnection: `installWithMetrics` hands its options to that one install.
 */
import type { TelemetryOptions } from '@temporalio/worker';
import { InputError } from '../inputs/input-error';
import { JOB_METRICS } from './job-metrics';

export const METRICS_PORT_ENV = 'RIGSWEEP_METRICS_PORT';

/** Names the workflow side (src/workflows/sweep-metrics.ts) emits; the sandbox cannot import ours. */
export const COOLDOWN_METRIC = 'rigsweep_cooldown_seconds';

/**
 * Bucket bounds in seconds. The SDK's default bounds (50 ... 10000) are made for milliseconds;
 * trials run from seconds to hours, cooldowns from seconds to minutes.
 */
const TRIAL_SECONDS_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400];
const COOLDOWN_SECONDS_BUCKETS = [1, 2, 5, 10, 30, 60, 120, 300, 600];

/**
 * The port to serve metrics on: `--metrics-port` wins over `RIGSWEEP_METRICS_PORT`; neither means
 * no metrics (the default). A value that is not a port is bad input, named as the user typed it.
 */
export function metricsPort(flag: string | number | undefined, env: NodeJS.ProcessEnv = process.env): number | undefined {
  const [source, text] = flag !== undefined && flag !== '' ? ['--metrics-port', String(flag)] : [METRICS_PORT_ENV, env[METRICS_PORT_ENV]];
  if (text === undefined || text.trim() === '') return undefined;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new InputError(source, [`not a port number (1-65535): ${text}`]);
  return port;
}

/** Runtime telemetry that serves Prometheus metrics on every interface at `port`; none without a port. */
export function metricsTelemetry(port: number | undefined): TelemetryOptions | undefined {
  if (port === undefined) return undefined;
  return {
    metrics: {
      prometheus: {
        bindAddress: `0.0.0.0:${port}`,
        histogramBucketOverrides: {
          [JOB_METRICS.trialDuration]: TRIAL_SECONDS_BUCKETS,
          [COOLDOWN_METRIC]: COOLDOWN_SECONDS_BUCKETS,
        },
      },
    },
  };
}

/**
 * Runs `install` — the process's one `Runtime.install` — with the telemetry that serves metrics on
 * `port`. A port another process holds fails here, at start, with a message that names it.
 */
export function installWithMetrics(port: number | undefined, install: (telemetryOptions: TelemetryOptions | undefined) => void): void {
  try {
    install(metricsTelemetry(port));
  } catch (error) {
    if (port === undefined || !/prometheus/i.test(String(error))) throw error;
    throw new InputError(`metrics port ${port}`, [(error as Error).message], { cause: error });
  }
}
