/**
 * Final job records reach the run folder as they come, in appends of at most 50 (records.ts: a
 * cut-short sweep keeps what it did, and no payload nears Temporal's 512 KB warning), one append
 * at a time, the timeline's spans riding with the next; between batches and at the end whatever
 * is left goes too. And what the Results JSON is written from. Each case counts its own records.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Decision } from '../../../src/shared/dispatch/decisions';
import { initialState } from '../../../src/shared/dispatch/init';
import { recordDue, resultsInput } from '../../../src/shared/dispatch/records';
import type { PlannedState } from '../../../src/shared/dispatch/state';
import { Step } from '../../../src/shared/dispatch/step';
import type { JobResult, NodeCheck } from '../../../src/shared/results';
import type { TimelineEntry } from '../../../src/shared/timeline';
import { node, plan } from './serving-sweep';

/** Records in one append, as records.ts promises. */
const CHUNK = 50;
/** Warnings the Results JSON carries at most: the newest (MAX_CARRIED_WARNINGS, state.ts). */
const WARNINGS_KEPT = 200;

const record = (i: number): JobResult => ({
  job_id: `j${i}`,
  success: true,
  node: 'rig',
  gpu_id: 0,
  batch: 1,
  runtime: 1,
  exit_code: 0,
  signal: null,
  failure_mode: null,
  error: null,
  output_file: null,
  local_output: null,
  started_at: '2026-01-01T00:00:00.000Z',
  ended_at: '2026-01-01T00:00:01.000Z',
  stderr_tail: '',
  attempt: 1,
  attempts: [],
});
const span = (batch: number): TimelineEntry => ({ kind: 'batch', batch, start_ms: 0, end_ms: 1 });

/** A sweep holding `count` final records not yet appended, and these timeline spans. */
function holding(count: number, timeline: TimelineEntry[] = []): PlannedState {
  return {
    ...initialState(0),
    plan: plan({ nodes: [node('rig', 1)], totalJobs: count }),
    unrecorded: Array.from({ length: count }, (_, i) => record(i)),
    timeline: [...timeline],
  };
}

type Append = Extract<Decision, { type: 'record' }>;
const appends = (step: Step): Append[] => step.decisions.filter((d): d is Append => d.type === 'record');

describe('appending records', () => {
  it('appends a full chunk as soon as one is there, and waits while fewer are', () => {
    const full = new Step(holding(CHUNK, [span(1)]), 0);
    expect(recordDue(full, false)).toBe(true);
    expect(appends(full).map((a) => [a.results.map((r) => r.job_id), a.timeline])).toEqual([[holding(CHUNK).unrecorded.map((r) => r.job_id), [span(1)]]]);
    const short = new Step(holding(CHUNK - 1, [span(1)]), 0);
    expect(recordDue(short, false)).toBe(false);
    expect(appends(short)).toEqual([]);
    expect(short.state.unrecorded).toHaveLength(CHUNK - 1);
  });

  it('appends one chunk at a time: none while one is on its way, the next once it was recorded', () => {
    const step = new Step(holding(2 * CHUNK + 20), 0);
    expect(recordDue(step, false)).toBe(true);
    // Still on its way: records remain, but nothing more is sent, even when asked to flush.
    expect(recordDue(step, false)).toBe(true);
    expect(recordDue(step, true)).toBe(true);
    const [first] = appends(step);
    expect(appends(step)).toHaveLength(1);
    expect(first.results.map((r) => r.job_id)).toEqual(Array.from({ length: CHUNK }, (_, i) => `j${i}`));
    step.finish(first.work);
    expect(recordDue(step, false)).toBe(true);
    expect(appends(step)[1].results.map((r) => r.job_id)).toEqual(Array.from({ length: CHUNK }, (_, i) => `j${CHUNK + i}`));
  });

  it('a flush appends whatever is left: records, or only timeline spans', () => {
    const records = new Step(holding(3), 0);
    expect(recordDue(records, true)).toBe(true);
    expect(appends(records).map((a) => [a.results.length, a.timeline])).toEqual([[3, []]]);

    const spans = new Step(holding(0, [span(1), span(2)]), 0);
    expect(recordDue(spans, true)).toBe(true);
    expect(appends(spans).map((a) => [a.results, a.timeline])).toEqual([[[], [span(1), span(2)]]]);

    const nothing = new Step(holding(0), 0);
    expect(recordDue(nothing, true)).toBe(false);
    expect(appends(nothing)).toEqual([]);
  });

  it('every record is appended once, in order, in chunks of at most 50, when flushed to the end', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4 * CHUNK + 7 }), fc.integer({ min: 0, max: 3 }), (count, spans) => {
        const timeline = Array.from({ length: spans }, (_, i) => span(i + 1));
        const step = new Step(holding(count, timeline), 0);
        while (recordDue(step, true)) for (const append of appends(step)) step.finish(append.work);
        const sent = appends(step);
        expect(sent.flatMap((a) => a.results.map((r) => r.job_id))).toEqual(Array.from({ length: count }, (_, i) => `j${i}`));
        expect(sent.flatMap((a) => a.timeline)).toEqual(timeline);
        for (const append of sent) expect(append.results.length).toBeLessThanOrEqual(CHUNK);
        expect(sent).toHaveLength(count === 0 ? (spans > 0 ? 1 : 0) : Math.ceil(count / CHUNK));
      }),
      {
        examples: [
          [CHUNK, 0],
          [CHUNK + 1, 1],
        ],
      },
    );
  });
});

describe('what the Results JSON is written from', () => {
  const check: NodeCheck = { node: 'rig', reachable: true, latency_ms: 3, hip_cache_cleared: null, message: 'ok' };

  function sweepWith(warnings: number): Step<PlannedState> {
    const state = holding(0);
    state.startedAtMs = 1234;
    state.warnings = Array.from({ length: warnings }, (_, i) => `w${i}`);
    state.preflight = [check];
    state.steering.quarantined = { a: 'failed 3 probes', b: 'failed 4 probes' };
    return new Step(state, 0);
  }

  it('carries the plan, the start, pre-flight, the batches, the quarantined nodes with why, and the reason it stopped', () => {
    const step = sweepWith(3);
    const input = resultsInput(step, 'cancelled', 4);
    expect(input).toEqual({
      plan: step.state.plan,
      startedAtMs: 1234,
      warnings: ['w0', 'w1', 'w2'],
      stoppedReason: 'cancelled',
      preflight: [check],
      batches: 4,
      quarantined: [
        { node: 'a', reason: 'failed 3 probes' },
        { node: 'b', reason: 'failed 4 probes' },
      ],
    });
    expect('stoppedReason' in resultsInput(step, null, 4)).toBe(false);
  });

  it('carries only the newest 200 warnings', () => {
    const input = resultsInput(sweepWith(WARNINGS_KEPT + 50), null, 1);
    expect(input.warnings).toEqual(Array.from({ length: WARNINGS_KEPT }, (_, i) => `w${50 + i}`));
  });
});
