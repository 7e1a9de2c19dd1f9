/**
 * `rigsweep plan` plays the dispatcher core on a virtual clock against an ideal cluster: the same
 * rules as a real sweep, read here as stories a reader can check by hand. The estimates as
 * formulas and properties: test/unit/core/ideal-run-estimates.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { nodeHealthSchema, preflightSchema } from '../../src/shared/config';
import { simulateSweep } from '../../src/shared/dispatch/ideal-run';
import { ids, node, plan } from './core/ideal-run-fixtures';

describe('the plan of a sweep', () => {
  it('staggers starts on one node and reuses the GPU idle longest', () => {
    // 0: j0 on GPU0; 1: j1 on GPU1 (stagger); 3: j0 ends, j2 on GPU0; 4: j1 ends and the stagger is over, j3 on GPU1.
    const sweep = simulateSweep(plan([node('rig', 2, 1)], 4), ids(4), { trialSeconds: 3 });
    expect(sweep.jobs.map(({ gpu, start, end }) => [gpu, start, end])).toEqual([
      [0, 0, 3],
      [1, 1, 4],
      [0, 3, 6],
      [1, 4, 7],
    ]);
    expect(sweep.batches).toEqual([{ batch: 1, jobs: 4, start: 0, end: 7 }]);
  });

  it('holds each node to its cap per batch, resets and cools down between batches', () => {
    const a = node('a', 4, 0);
    const b = node('b', 2, 1);
    const batched = plan([a, b], 8, { max_jobs_per_batch: 4, max_jobs_per_node_per_batch: 2, inter_batch_cooldown_seconds: 5 });
    // 0: a takes j0, b j1, a j2 (a is at its cap of 2); 1: b's stagger is over, j3. The barrier at 11
    // (j3's end), a 1.5 s reset and a 5 s cooldown: batch 2 at 17.5, on the GPUs idle longest.
    const sweep = simulateSweep(batched, ids(8), { trialSeconds: 10, resetSeconds: 1.5 });
    expect(sweep.jobs.map(({ node: n, gpu, start, batch }) => `${n}:${gpu}@${start}#${batch}`)).toEqual([
      'a:0@0#1',
      'b:0@0#1',
      'a:1@0#1',
      'b:1@1#1',
      'a:2@17.5#2',
      'b:0@17.5#2',
      'a:3@17.5#2',
      'b:1@18.5#2',
    ]);
    expect(sweep.batches.map(({ batch, jobs, start, end }) => [batch, jobs, start, end])).toEqual([
      [1, 4, 0, 11],
      [2, 4, 17.5, 28.5],
    ]);
  });

  it('runs a sweep without batches as its one batch, its segments growing without a drain', () => {
    const sweep = simulateSweep(plan([node('a', 4, 0)], 250, { enabled: false }), ids(250), { trialSeconds: 1 });
    expect(sweep.batches).toEqual([{ batch: 1, jobs: 250, start: 0, end: expect.any(Number) as unknown }]);
    // 4 lanes, one second per trial, no gap at the 100-job segment edges: 250 / 4 rounds up to 63 s.
    expect(sweep.jobs.at(-1)!.end).toBe(63);
  });

  it('gives each node of a rolling sweep its own rhythm: cap, reset, cooldown, while the others work', () => {
    const rolling = plan([node('a', 2, 0), node('b', 2, 0)], 12, {
      mode: 'rolling',
      max_jobs_per_batch: 4,
      max_jobs_per_node_per_batch: 2,
      inter_batch_cooldown_seconds: 3,
    });
    const sweep = simulateSweep(rolling, ids(12), { trialSeconds: 2, resetSeconds: 1 });
    const onA = sweep.jobs.filter((job) => job.node === 'a').map((job) => job.start);
    // Two jobs, drain at 2, reset until 3, cooldown until 6: then two more.
    expect(onA.slice(0, 4)).toEqual([0, 0, 6, 6]);
  });
});

describe('what simulateSweep takes and gives back', () => {
  it('refuses a job list that does not match the plan', () => {
    expect(() => simulateSweep(plan([node('a', 1, 0)], 3), ids(2), { trialSeconds: 1 })).toThrow(RangeError);
    expect(() => simulateSweep(plan([node('a', 1, 0)], 3), ids(4), { trialSeconds: 1 })).toThrow(RangeError);
  });

  it('refuses a trial duration that is negative or not finite, given as a number or per job', () => {
    const one = plan([node('a', 1, 0)], 2);
    for (const bad of [-1, -0.001, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => simulateSweep(one, ids(2), { trialSeconds: bad })).toThrow(RangeError);
      // Only the second job's duration is bad.
      expect(() => simulateSweep(one, ids(2), { trialSeconds: (index) => (index === 1 ? bad : 1) })).toThrow(RangeError);
    }
  });

  it('plays a sweep of no jobs: nothing runs, and it is over at once', () => {
    expect(simulateSweep(plan([node('a', 2, 0)], 0), [], { trialSeconds: 1 })).toEqual({ jobs: [], batches: [], makespan: 0 });
  });

  it('takes trials of no time: every job starts and ends at once', () => {
    const sweep = simulateSweep(plan([node('a', 2, 0)], 3), ids(3), { trialSeconds: 0 });
    expect(sweep.jobs.map(({ jobId, start, end }) => [jobId, start, end])).toEqual([
      ['j0', 0, 0],
      ['j1', 0, 0],
      ['j2', 0, 0],
    ]);
    expect(sweep.makespan).toBe(0);
  });

  it('gives each job its own duration, by its index in the list, and names every job by its id', () => {
    // One lane: the jobs run back to back, 1 + 2 + 3 s.
    const names = ['first', 'second', 'third'];
    const sweep = simulateSweep(plan([node('a', 1, 0)], 3), names, { trialSeconds: (index) => index + 1 });
    expect(sweep.jobs.map(({ jobId, start, end }) => [jobId, start, end])).toEqual([
      ['first', 0, 1],
      ['second', 1, 3],
      ['third', 3, 6],
    ]);
    expect(sweep.makespan).toBe(6);
  });

  it('gives the makespan in seconds, as the jobs', () => {
    // 5 jobs of 2.5 s on 2 lanes: 3 rounds, 7.5 s.
    const sweep = simulateSweep(plan([node('a', 2, 0)], 5), ids(5), { trialSeconds: 2.5 });
    expect(sweep.makespan).toBe(7.5);
    expect(Math.max(...sweep.jobs.map((job) => job.end))).toBe(7.5);
  });

  it('throws when the sweep could never finish: no node can run a job', () => {
    const stuck = plan([node('a', 2, 0, { maxConcurrent: 0 })], 3);
    expect(() => simulateSweep(stuck, ids(3), { trialSeconds: 1 })).toThrow(/would not finish/);
  });
});

describe('the ideal cluster', () => {
  it('spends no time on pre-flight: checks and warm-ups are not part of the estimate', () => {
    const warmed = node('a', 2, 0, { warmupCommand: 'python3 warm.py' });
    const withPreflight = { ...plan([warmed], 4), preflight: preflightSchema.parse({ enabled: true }) };
    // 4 jobs of 2 s on 2 GPUs from the first second: two rounds, 4 s.
    const sweep = simulateSweep(withPreflight, ids(4), { trialSeconds: 2 });
    expect(sweep.jobs.map((job) => job.start)).toEqual([0, 0, 2, 2]);
    expect(sweep.makespan).toBe(4);
  });

  it('spends no time on health probes before batches either', () => {
    const probed = { ...plan([node('a', 2, 0)], 4, { max_jobs_per_batch: 2, inter_batch_cooldown_seconds: 1 }), nodeHealth: nodeHealthSchema.parse({}) };
    // Two batches of 2 jobs of 3 s, a 0.5 s reset and a 1 s cooldown between them: 3 + 1.5 + 3.
    const sweep = simulateSweep(probed, ids(4), { trialSeconds: 3, resetSeconds: 0.5 });
    expect(sweep.batches.map(({ start, end }) => [start, end])).toEqual([
      [0, 3],
      [4.5, 7.5],
    ]);
  });

  it('runs every trial once and well: retries allowed and max_fail_percentage 0 change nothing', () => {
    const strict = { ...plan([node('a', 2, 0)], 6, { max_jobs_per_batch: 2, inter_batch_cooldown_seconds: 0, max_fail_percentage: 0 }), maxRetries: 3 };
    // Three batches of 2 jobs of 1 s, resets of 0.5 s between them: 1 + 0.5 + 1 + 0.5 + 1.
    const sweep = simulateSweep(strict, ids(6), { trialSeconds: 1, resetSeconds: 0.5 });
    expect(sweep.jobs.map((job) => job.jobId)).toEqual(ids(6));
    expect(sweep.batches.map(({ batch, jobs }) => [batch, jobs])).toEqual([
      [1, 2],
      [2, 2],
      [3, 2],
    ]);
    expect(sweep.makespan).toBe(4);
  });

  it('hears what happens at one moment in the order it was caused: the GPU whose job started first is free first', () => {
    // Batch 1: j0 on GPU 0, then j1 on GPU 1 (the node's cap of 2), both end at 1. Batch 2 takes
    // GPU 2 (never used), then GPU 0, whose end was heard before GPU 1's.
    const sweep = simulateSweep(
      plan([node('a', 3, 0)], 4, { max_jobs_per_batch: 2, max_jobs_per_node_per_batch: 2, inter_batch_cooldown_seconds: 0 }),
      ids(4),
      {
        trialSeconds: 1,
      },
    );
    expect(sweep.jobs.map(({ jobId, gpu, start, batch }) => `${jobId}:${gpu}@${start}#${batch}`)).toEqual(['j0:0@0#1', 'j1:1@0#1', 'j2:2@1#2', 'j3:0@1#2']);
  });

  it('sends standbys in the order the lanes started: the next jobs alternate over the GPUs', () => {
    // No stagger: j0 on GPU 0, j1 on GPU 1, then each busy GPU gets the next job, in the order its job started.
    const sweep = simulateSweep(plan([node('a', 2, 0)], 6), ids(6), { trialSeconds: 1 });
    expect(sweep.jobs.map(({ gpu, start }) => [gpu, start])).toEqual([
      [0, 0],
      [1, 0],
      [0, 1],
      [1, 1],
      [0, 2],
      [1, 2],
    ]);
  });
});
