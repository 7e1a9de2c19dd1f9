import { describe, expect, it } from 'vitest';
import { jobBatchingSchema } from '../../src/shared/config';
import { planBatches } from '../../src/shared/planner';

const seedBatching = jobBatchingSchema.parse({});

describe('planBatches', () => {
  it('runs up to max_jobs_per_batch jobs as one batch without reset, cooldown or per-node cap', () => {
    const plan = planBatches(20, 4, seedBatching);
    expect(plan.batches).toEqual([{ index: 0, start: 0, end: 20 }]);
    expect(plan).toMatchObject({ perNodeCap: null, resetBetweenBatches: false, cooldownSeconds: 0 });
  });

  it("splits the seed's 100 trials on four nodes into 5 batches of 20, at most 6 per node", () => {
    const plan = planBatches(100, 4, seedBatching);
    expect(plan.batches.map((b) => b.end - b.start)).toEqual([20, 20, 20, 20, 20]);
    expect(plan).toMatchObject({ perNodeCap: 6, resetBetweenBatches: true, cooldownSeconds: 5 });
  });

  it('never plans a batch larger than all nodes may take together', () => {
    const plan = planBatches(50, 3, seedBatching);
    expect(plan.batches.map((b) => b.end - b.start)).toEqual([18, 18, 14]);
  });

  it('covers every job exactly once, in order', () => {
    for (const [jobs, nodes] of [
      [1, 1],
      [21, 1],
      [57, 2],
      [1000, 7],
    ]) {
      const plan = planBatches(jobs, nodes, seedBatching);
      const indices = plan.batches.flatMap((b) => Array.from({ length: b.end - b.start }, (_, i) => b.start + i));
      expect(indices).toEqual(Array.from({ length: jobs }, (_, i) => i));
      plan.batches.forEach((batch, index) => expect(batch.index).toBe(index));
    }
  });

  it('runs without batches when batching is disabled: no caps, no resets, jobs read in segments of 100', () => {
    const plan = planBatches(120, 4, { ...seedBatching, enabled: false });
    expect(plan.batches).toEqual([
      { index: 0, start: 0, end: 100 },
      { index: 1, start: 100, end: 120 },
    ]);
    expect(plan).toMatchObject({ perNodeCap: null, resetBetweenBatches: false, cooldownSeconds: 0 });
  });

  it('reads a rolling sweep in segments of 100 with the per-node cap', () => {
    const plan = planBatches(250, 4, { ...seedBatching, mode: 'rolling' });
    expect(plan.batches.map((b) => [b.start, b.end])).toEqual([
      [0, 100],
      [100, 200],
      [200, 250],
    ]);
    expect(plan).toMatchObject({ perNodeCap: 6, resetBetweenBatches: true, cooldownSeconds: 5 });
  });

  it('honours a reset switched off and a zero cooldown', () => {
    const plan = planBatches(30, 2, { ...seedBatching, allocator_reset_between_batches: false, inter_batch_cooldown_seconds: 0 });
    expect(plan).toMatchObject({ resetBetweenBatches: false, cooldownSeconds: 0 });
    expect(plan.batches).toHaveLength(3);
  });
});
