/**
 * What `rigsweep watch` says about a sweep: pace, ETA, node states and lines, and the final
 * summary, computed from the progress query's answer and the time now.
 */
import { describe, expect, it } from 'vitest';
import {
  countsLine,
  finalSummaryLine,
  fitName,
  formatDuration,
  gpuStrip,
  headerLine,
  MAX_NAME_WIDTH,
  nodeColumns,
  nodeLine,
  nodeStateLabel,
  summaryLine,
  sweepRate,
} from '../../src/cli/progress-format';
import type { NodeProgress, SweepProgress } from '../../src/shared/progress';

const START = Date.UTC(2025, 0, 1, 12, 0, 0);
const minutes = (n: number) => START + n * 60_000;

function progress(overrides: Partial<SweepProgress> = {}): SweepProgress {
  return {
    phase: 'running',
    sweepName: 'scorer_jobs',
    startedAtMs: START,
    pauseRequested: false,
    settings: null,
    nodes: [],
    resultsDir: 'scorer_trial_results/run-1',
    batch: 2,
    batchCount: 3,
    totalJobs: 50,
    done: 20,
    failed: 1,
    running: 6,
    retries: 2,
    events: [],
    lastSeq: 0,
    ...overrides,
  };
}

function node(overrides: Partial<NodeProgress> = {}): NodeProgress {
  return { name: '192.168.3.120', gpuCount: 4, busyGpus: [], excludedGpus: [], state: 'ok', done: 0, failed: 0, lastFinished: null, ...overrides };
}

describe('pace and ETA', () => {
  it('is finished trials per minute since the start, and the jobs left at that pace', () => {
    // 20 done in 4 minutes: 5/min; 30 left take 6 minutes.
    expect(sweepRate(progress(), minutes(4))).toEqual({ perMinute: 5, etaSeconds: 360 });
    expect(countsLine(progress(), minutes(4))).toBe('20/50 done · 1 failed · 6 running · 2 retried · 5.0/min · ETA 6m 00s');
  });

  it('is unknown, not zero or infinite, before the first trial finished', () => {
    expect(sweepRate(progress({ done: 0, failed: 0 }), minutes(3))).toEqual({ perMinute: null, etaSeconds: null });
    expect(countsLine(progress({ done: 0, failed: 0, running: 4, retries: 0 }), minutes(3))).toBe(
      '0/50 done · 0 failed · 4 running · 0 retried · –/min · ETA –',
    );
  });

  it('does not go negative when the workflow clock is ahead of the watcher', () => {
    expect(sweepRate(progress(), START - 5000)).toEqual({ perMinute: null, etaSeconds: null });
  });

  it('rounds fast sweeps to whole trials per minute and reads hours as hours', () => {
    expect(countsLine(progress({ done: 250, totalJobs: 10_000 }), minutes(10))).toContain('25/min · ETA 6h 30m');
  });

  it('says ETA 0s once every job is done', () => {
    expect(countsLine(progress({ done: 50, running: 0 }), minutes(5))).toMatch(/10\/min · ETA 0s$/);
  });

  it('formats durations as a person reads them', () => {
    expect([formatDuration(0), formatDuration(44.6), formatDuration(65), formatDuration(3599), formatDuration(7260)]).toEqual([
      '0s',
      '45s',
      '1m 05s',
      '59m 59s',
      '2h 01m',
    ]);
  });
});

describe('where the sweep is', () => {
  it('names the sweep, its batch and phase', () => {
    expect(headerLine(progress(), 'rigsweep-abc')).toBe('sweep scorer_jobs (rigsweep-abc) · batch 2/3 · running');
    expect(headerLine(progress({ batch: 0, batchCount: 0, phase: 'planning', sweepName: '' }), 'rigsweep-abc')).toBe('sweep rigsweep-abc · planning');
  });

  it('says PAUSED once a pause was asked for, in the view and in the plain summary', () => {
    expect(headerLine(progress({ pauseRequested: true, phase: 'paused' }), 'id')).toBe(
      'sweep scorer_jobs (id) · batch 2/3 · paused · PAUSED: no new batch starts until resume',
    );
    expect(summaryLine(progress({ pauseRequested: true }), minutes(4))).toBe(
      '[PROGRESS] batch 2/3 running (PAUSED): 20/50 done · 1 failed · 6 running · 2 retried · 5.0/min · ETA 6m 00s',
    );
  });
});

describe('node lines', () => {
  it('show each GPU: busy, idle or excluded', () => {
    expect(gpuStrip(node({ gpuCount: 4, busyGpus: [0, 2], excludedGpus: [3] }))).toBe('■□■×');
    expect(gpuStrip(node({ gpuCount: 20, busyGpus: [0] }))).toBe('■' + '□'.repeat(15) + '+4');
  });

  it('read a node with jobs running as ok, and every other state as it is', () => {
    expect(
      ['ok', 'running', 'resetting', 'cooling down', 'left out', 'excluded'].map((state) => nodeStateLabel({ state: state as NodeProgress['state'] })),
    ).toEqual(['ok', 'ok', 'resetting', 'cooling down', 'left out', 'excluded']);
  });

  it('give name, GPUs, state, results, the last finished job and excluded GPUs', () => {
    const busy = node({
      busyGpus: [0, 1, 2],
      excludedGpus: [3],
      state: 'running',
      done: 12,
      failed: 1,
      lastFinished: { job_id: 'scorer_trial_7', success: true, runtime: 4.06 },
    });
    expect(nodeLine(busy, { name: 13, strip: 4 })).toBe(
      '  192.168.3.120 ■■■× 3/4 busy    ok            12 done, 1 failed   last scorer_trial_7 ✓ 4.1s  excluded GPU 3',
    );
    const failed = node({
      name: 'localhost',
      gpuCount: 2,
      state: 'cooling down',
      done: 3,
      failed: 3,
      lastFinished: { job_id: 't9', success: false, runtime: 0.24 },
    });
    expect(nodeLine(failed, { name: 13, strip: 4 })).toBe('  localhost     □□   0/2 busy    cooling down  3 done, 3 failed    last t9 ✗ 0.2s');
    expect(nodeLine(node({ state: 'left out' }), { name: 13, strip: 4 })).toBe('  192.168.3.120 □□□□ 0/4 busy    left out      0 done, 0 failed');
  });

  it('line up on the longest name and the most GPUs, and cut names too long for the column', () => {
    const long = 'gpu-rig-in-the-basement-behind-the-boiler';
    const nodes = [node({ name: 'localhost', gpuCount: 2 }), node({ name: long, gpuCount: 12 })];
    const columns = nodeColumns(nodes);
    expect(columns).toEqual({ name: MAX_NAME_WIDTH, strip: 12 });
    expect(fitName(long, columns.name)).toBe('gpu-rig-in-the-baseme…');
    const lines = nodes.map((n) => nodeLine(n, columns));
    expect(lines[1]).toContain('gpu-rig-in-the-baseme… □□□□□□□□□□□□ 0/12 busy');
    expect(lines[0].indexOf('□')).toBe(lines[1].indexOf('□'));
    expect(lines[0].indexOf('ok')).toBe(lines[1].indexOf('ok'));
    expect(nodeColumns([node({ name: 'a', gpuCount: 1 })])).toEqual({ name: 4, strip: 4 });
    expect(nodeColumns([node({ gpuCount: 20 })]).strip).toBe('□'.repeat(16).length + '+4'.length);
  });
});

describe('the final summary', () => {
  it('sums up a completed sweep from its Results JSON, with the retries and where the results are', () => {
    const end = { kind: 'completed' as const, totalJobs: 50, successful: 48, failed: 2, runtimeSeconds: 600, stoppedReason: null };
    expect(finalSummaryLine('rigsweep-abc', end, progress({ retries: 3 }))).toBe(
      'sweep rigsweep-abc completed in 10m 00s: 50/50 done, 2 failed, 3 retried (5.0/min) — results in scorer_trial_results/run-1',
    );
  });

  it('says when a sweep stopped early and how far it got', () => {
    const end = { kind: 'completed' as const, totalJobs: 50, successful: 5, failed: 15, runtimeSeconds: 0, stoppedReason: 'batch 1 failed 75% > 50%' };
    expect(finalSummaryLine('id', end, undefined)).toBe('sweep id completed in 0s: 20/50 done, 15 failed; stopped early: batch 1 failed 75% > 50%');
  });

  it('sums up a cancelled or failed sweep from the last progress seen', () => {
    expect(finalSummaryLine('id', { kind: 'cancelled' }, progress({ resultsDir: null }))).toBe('sweep id cancelled: 20/50 done, 1 failed, 2 retried');
    expect(finalSummaryLine('id', { kind: 'failed', message: 'pre-flight failed: 10.0.0.9' }, undefined)).toBe('sweep id failed (pre-flight failed: 10.0.0.9)');
  });
});
