/**
 * The planner's edges (docs/sweeps.md, batching): a sweep with no node to plan over runs without
 * batches (no per-node cap, reset or cooldown), and a sweep without batches is shown as one batch
 * however many segments it is read in. test/unit/planner.test.ts has the everyday plans.
 */
import { describe, expect, it } from 'vitest';
import { jobBatchingSchema } from '../../../src/shared/config';
import { planBatches, shownBatchCount } from '../../../src/shared/planner';

const seedBatching = jobBatchingSchema.parse({});

describe('planBatches without a node', () => {
  it.each(['barrier', 'rolling'] as const)('plans a %s sweep of many jobs as unbatched, every job once', (mode) => {
    const plan = planBatches(250, 0, { ...seedBatching, mode });
    expect(plan).toMatchObject({ perNodeCap: null, resetBetweenBatches: false, cooldownSeconds: 0 });
    expect(plan.batches[0].start).toBe(0);
    expect(plan.batches.at(-1)?.end).toBe(250);
    plan.batches.slice(1).forEach((batch, i) => expect(batch.start).toBe(plan.batches[i].end));
  });
});

describe('shownBatchCount', () => {
  it('shows a sweep without batches as one batch, whatever its segments', () => {
    expect(
      shownBatchCount({
        batches: [
          { index: 0, start: 0, end: 100 },
          { index: 1, start: 100, end: 120 },
        ],
        perNodeCap: null,
        resetBetweenBatches: false,
        cooldownSeconds: 0,
      }),
    ).toBe(1);
    expect(shownBatchCount({ batches: [{ index: 0, start: 0, end: 7 }], perNodeCap: null, resetBetweenBatches: false, cooldownSeconds: 0 })).toBe(1);
  });

  it('shows no batch for a sweep of no jobs', () => {
    expect(shownBatchCount({ batches: [], perNodeCap: null, resetBetweenBatches: false, cooldownSeconds: 0 })).toBe(0);
  });

  it('shows each batch of a batched sweep', () => {
    const batches = [0, 1, 2].map((index) => ({ index, start: index * 20, end: index * 20 + 20 }));
    expect(shownBatchCount({ batches, perNodeCap: 6, resetBetweenBatches: true, cooldownSeconds: 5 })).toBe(3);
  });
});
