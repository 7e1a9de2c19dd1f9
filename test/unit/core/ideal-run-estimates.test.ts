/**
 * `rigsweep plan`'s estimates as formulas a reader can work out (equal jobs on G lanes, staggered
 * starts, barrier batches with resets and cooldowns) and as properties of every generated sweep:
 * each job once for its own length, each node within its rules, never faster with longer upkeep.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { simulateSweep } from '../../../src/shared/dispatch/ideal-run';
import { ids, node, plan } from './ideal-run-fixtures';

/**
 * The properties run at a fixed seed, so the mutation run's verdicts do not change from run to run;
 * change it to explore other sweeps.
 */
const SEED = 18;

/** Whole milliseconds, so the expected times are exact. */
const ms = (count: number) => count / 1000;

describe('the estimate, by formula', () => {
  it('runs N equal jobs of length L on G lanes without batches in ceil(N / G) · L', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 230 }),
        fc.integer({ min: 1, max: 5000 }),
        (nodeCount, gpus, jobs, lengthMs) => {
          const nodes = Array.from({ length: nodeCount }, (_, i) => node(`n${i}`, gpus, 0));
          const sweep = simulateSweep(plan(nodes, jobs, { enabled: false }), ids(jobs), { trialSeconds: ms(lengthMs) });
          expect(sweep.makespan).toBe(ms(Math.ceil(jobs / (nodeCount * gpus)) * lengthMs));
          expect(sweep.batches).toEqual([{ batch: 1, jobs, start: 0, end: sweep.makespan }]);
        },
      ),
      { numRuns: 40, seed: SEED },
    );
  });

  it('staggers the starts of up to G jobs on one node: (N − 1) · stagger + L', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 3000 }), (jobs, staggerQuarters, lengthMs) => {
        const stagger = staggerQuarters / 4;
        const sweep = simulateSweep(plan([node('a', 6, stagger)], jobs), ids(jobs), { trialSeconds: ms(lengthMs) });
        expect(sweep.jobs.map((job) => job.start)).toEqual(ids(jobs).map((_, i) => i * stagger));
        expect(sweep.makespan).toBe(ms((jobs - 1) * staggerQuarters * 250 + lengthMs));
      }),
      { numRuns: 40, seed: SEED },
    );
  });

  it('runs barrier batches one after another, a reset and a cooldown between each two', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 1, max: 3000 }),
        fc.integer({ min: 0, max: 3000 }),
        fc.integer({ min: 0, max: 3000 }),
        (gpus, perBatch, perNode, jobs, lengthMs, resetMs, cooldownMs) => {
          const batching = { max_jobs_per_batch: perBatch, max_jobs_per_node_per_batch: perNode, inter_batch_cooldown_seconds: ms(cooldownMs) };
          const sweep = simulateSweep(plan([node('a', gpus, 0)], jobs, batching), ids(jobs), { trialSeconds: ms(lengthMs), resetSeconds: ms(resetMs) });
          // One batch (jobs ≤ max_jobs_per_batch) runs without batching; else batches of min(max per batch, cap of the one node).
          const size = jobs <= perBatch ? jobs : Math.min(perBatch, perNode);
          const sizes = Array.from({ length: Math.ceil(jobs / size) }, (_, b) => Math.min(size, jobs - b * size));
          let at = 0;
          const expected = sizes.map((count, b) => {
            const start = b === 0 ? 0 : at + resetMs + cooldownMs;
            at = start + Math.ceil(count / gpus) * lengthMs;
            return { batch: b + 1, jobs: count, start: ms(start), end: ms(at) };
          });
          expect(sweep.batches).toEqual(expected);
          expect(sweep.makespan).toBe(ms(at));
        },
      ),
      { numRuns: 60, seed: SEED },
    );
  });
});

describe('the estimate, for every sweep', () => {
  const sweeps = fc.record({
    nodes: fc.array(
      fc.record({ gpus: fc.integer({ min: 1, max: 3 }), slots: fc.integer({ min: 1, max: 3 }), staggerQuarters: fc.integer({ min: 0, max: 4 }) }),
      {
        minLength: 1,
        maxLength: 3,
      },
    ),
    mode: fc.constantFrom('barrier', 'rolling', 'off'),
    perBatch: fc.integer({ min: 1, max: 8 }),
    perNode: fc.integer({ min: 1, max: 4 }),
    cooldownMs: fc.integer({ min: 0, max: 2000 }),
    resetMs: fc.integer({ min: 0, max: 2000 }),
    lengthsMs: fc.array(fc.integer({ min: 0, max: 4000 }), { minLength: 1, maxLength: 25 }),
  });
  const play = (s: typeof sweeps extends fc.Arbitrary<infer T> ? T : never) => {
    const nodes = s.nodes.map((n, i) => node(`n${i}`, n.gpus, n.staggerQuarters / 4, { maxConcurrent: Math.min(n.gpus, n.slots) }));
    const batching =
      s.mode === 'off'
        ? { enabled: false }
        : { mode: s.mode, max_jobs_per_batch: s.perBatch, max_jobs_per_node_per_batch: s.perNode, inter_batch_cooldown_seconds: ms(s.cooldownMs) };
    const count = s.lengthsMs.length;
    const sweep = simulateSweep(plan(nodes, count, batching), ids(count), { trialSeconds: (i) => ms(s.lengthsMs[i]), resetSeconds: ms(s.resetMs) });
    return { nodes, sweep };
  };

  it('runs every job once, for its own length, before the makespan, which is no less than the longest job nor the work over all lanes', () => {
    fc.assert(
      fc.property(sweeps, (s) => {
        const { nodes, sweep } = play(s);
        expect(sweep.jobs.map((job) => job.jobId)).toEqual(ids(s.lengthsMs.length));
        sweep.jobs.forEach((job, i) => {
          expect(job.end - job.start).toBeCloseTo(ms(s.lengthsMs[i]), 9);
          expect(job.start).toBeGreaterThanOrEqual(0);
        });
        // The Results JSON follows the last job, or in rolling mode a node's reset begun while a job still waited.
        const lastEnd = Math.max(...sweep.jobs.map((job) => job.end));
        if (s.mode === 'rolling') expect(sweep.makespan).toBeGreaterThanOrEqual(lastEnd);
        else expect(sweep.makespan).toBe(lastEnd);
        expect(sweep.makespan).toBeGreaterThanOrEqual(ms(Math.max(...s.lengthsMs)));
        const lanes = nodes.reduce((sum, n) => sum + n.maxConcurrent, 0);
        expect(sweep.makespan + 1e-9).toBeGreaterThanOrEqual(ms(s.lengthsMs.reduce((a, b) => a + b, 0)) / lanes);
        expect(sweep.batches.reduce((sum, batch) => sum + batch.jobs, 0)).toBe(s.lengthsMs.length);
      }),
      { numRuns: 60, seed: SEED },
    );
  });

  it('keeps every node to its rules: one trial per GPU, at most its slots at once, starts a stagger apart', () => {
    fc.assert(
      fc.property(sweeps, (s) => {
        const { nodes, sweep } = play(s);
        for (const n of nodes) {
          const mine = sweep.jobs.filter((job) => job.node === n.name && job.end > job.start);
          for (const job of mine) {
            expect(job.gpu).toBeLessThan(n.gpuCount);
            const overlapping = mine.filter((other) => other.start < job.end && job.start < other.end);
            expect(overlapping.filter((other) => other.gpu === job.gpu)).toEqual([job]);
            // At the moment the job starts, at most maxConcurrent trials run on the node (this one included).
            expect(mine.filter((other) => other.start <= job.start && job.start < other.end).length).toBeLessThanOrEqual(n.maxConcurrent);
          }
          const starts = sweep.jobs
            .filter((job) => job.node === n.name)
            .map((job) => job.start)
            .sort((a, b) => a - b);
          for (let i = 1; i < starts.length; i++) expect(starts[i] - starts[i - 1] + 1e-9).toBeGreaterThanOrEqual(n.staggerSeconds);
        }
      }),
      { numRuns: 60, seed: SEED },
    );
  });

  it('is never faster with a longer cooldown or a longer reset in barrier mode', () => {
    fc.assert(
      fc.property(sweeps, fc.integer({ min: 1, max: 2000 }), fc.integer({ min: 0, max: 2000 }), (s, moreCooldownMs, moreResetMs) => {
        const base = { ...s, mode: 'barrier' as const };
        const slower = { ...base, cooldownMs: s.cooldownMs + moreCooldownMs, resetMs: s.resetMs + moreResetMs };
        expect(play(slower).sweep.makespan).toBeGreaterThanOrEqual(play(base).sweep.makespan);
      }),
      { numRuns: 40, seed: SEED },
    );
  });
});
