/**
 * The pure parts of rigsweep's metrics: where the port comes from, what the Runtime is told, the
 * node-state encoding, and what an activity records through its meter (MockActivityEnvironment
 * with a recording meter; without one, nothing breaks).
 */
import type { MetricMeter, MetricTags } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/inputs/input-error';
import { COOLDOWN_METRIC, metricsPort, metricsTelemetry } from '../../src/metrics/install-metrics';
import { JOB_METRICS, recordJobFinished, recordJobStarted, recordNodeReset } from '../../src/metrics/job-metrics';
import { nodeStateValues, SWEEP_METRICS } from '../../src/workflows/sweep-metrics';

describe('the metrics port', () => {
  it('is off by default, comes from --metrics-port before RIGSWEEP_METRICS_PORT', () => {
    expect(metricsPort(undefined, {})).toBeUndefined();
    expect(metricsPort(undefined, { RIGSWEEP_METRICS_PORT: '' })).toBeUndefined();
    expect(metricsPort(undefined, { RIGSWEEP_METRICS_PORT: '9464' })).toBe(9464);
    expect(metricsPort('9100', { RIGSWEEP_METRICS_PORT: '9464' })).toBe(9100);
  });

  it('refuses what is not a port, naming where it came from', () => {
    expect(() => metricsPort('http', {})).toThrow(new InputError('--metrics-port', ['not a port number (1-65535): http']));
    expect(() => metricsPort(undefined, { RIGSWEEP_METRICS_PORT: '70000' })).toThrow('RIGSWEEP_METRICS_PORT: not a port number (1-65535): 70000');
    expect(() => metricsPort('0', {})).toThrow(InputError);
  });

  it("makes the Runtime serve Prometheus on every interface, with second-sized buckets for both sides' histograms", () => {
    expect(metricsTelemetry(undefined)).toBeUndefined();
    const prometheus = (metricsTelemetry(9464)?.metrics as { prometheus: { bindAddress: string; histogramBucketOverrides: Record<string, number[]> } })
      .prometheus;
    expect(prometheus.bindAddress).toBe('0.0.0.0:9464');
    expect(Object.keys(prometheus.histogramBucketOverrides).sort()).toEqual([JOB_METRICS.trialDuration, SWEEP_METRICS.cooldown].sort());
    expect(COOLDOWN_METRIC).toBe(SWEEP_METRICS.cooldown);
  });
});

describe('the node-state gauge', () => {
  it("is 1 for the node's state and 0 for each other state", () => {
    const values = nodeStateValues('cooling down');
    expect(values.map((v) => v.state).sort()).toEqual(['cooling down', 'excluded', 'left out', 'ok', 'quarantined', 'resetting', 'running']);
    expect(values.filter((v) => v.value === 1)).toEqual([{ state: 'cooling down', value: 1 }]);
  });
});

interface Recorded {
  kind: string;
  name: string;
  value: number;
  tags: MetricTags;
}

/** A meter that writes down every value it is given. */
function recordingMeter(recorded: Recorded[]): MetricMeter {
  const metric = (kind: string, name: string) => {
    const push = (value: number, tags: MetricTags = {}) => void recorded.push({ kind, name, value, tags });
    return { name, kind, valueType: 'float', add: push, record: push, set: push, withTags: () => metric(kind, name) };
  };
  return {
    createCounter: (name: string) => metric('counter', name),
    createHistogram: (name: string) => metric('histogram', name),
    createGauge: (name: string) => metric('gauge', name),
    withTags: () => recordingMeter(recorded),
  } as unknown as MetricMeter;
}

describe('activity-side metrics', () => {
  it('count a started, a succeeded and a failed attempt with node, gpu and failure mode, and time both', async () => {
    const recorded: Recorded[] = [];
    await new MockActivityEnvironment(undefined, { metricMeter: recordingMeter(recorded) }).run(() => {
      recordJobStarted('10.231.0.11', 3);
      recordJobFinished({ node: '10.231.0.11', gpu_id: 3, success: true, failure_mode: null, runtime: 4.2 });
      recordJobFinished({ node: 'localhost', gpu_id: 0, success: false, failure_mode: 'TIMEOUT', runtime: 7200 });
      recordNodeReset('10.231.0.11', false);
      return Promise.resolve();
    });
    // The SDK adds its own tags (namespace, task queue, activity type); ours are these.
    expect(
      recorded.map(({ tags: { namespace: _namespace, taskQueue: _taskQueue, activityType: _activityType, ...ours }, ...rest }) => ({ ...rest, tags: ours })),
    ).toEqual([
      { kind: 'counter', name: 'rigsweep_jobs_started', value: 1, tags: { node: '10.231.0.11', gpu: 3 } },
      { kind: 'counter', name: 'rigsweep_jobs_succeeded', value: 1, tags: { node: '10.231.0.11', gpu: 3 } },
      { kind: 'histogram', name: 'rigsweep_trial_duration_seconds', value: 4.2, tags: { node: '10.231.0.11' } },
      { kind: 'counter', name: 'rigsweep_jobs_failed', value: 1, tags: { node: 'localhost', gpu: 0, failure_mode: 'TIMEOUT' } },
      { kind: 'histogram', name: 'rigsweep_trial_duration_seconds', value: 7200, tags: { node: 'localhost' } },
      { kind: 'counter', name: 'rigsweep_node_resets', value: 1, tags: { node: '10.231.0.11', ok: false } },
    ]);
  });

  it('record nothing and throw nothing without a meter or outside an activity', async () => {
    await new MockActivityEnvironment().run(() => Promise.resolve(recordJobStarted('localhost', 0)));
    expect(() => recordJobFinished({ node: 'localhost', gpu_id: 0, success: true, failure_mode: null, runtime: 1 })).not.toThrow();
    expect(() => recordNodeReset('localhost', true)).not.toThrow();
  });
});
