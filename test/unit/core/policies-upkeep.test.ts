/**
 * A mode's policy says where its upkeep happens (`upkeepScope`) and when it is due (`upkeepDue`);
 * the core runs the machine (docs/dispatcher-core.md; policies/policy.ts). Two modes made here
 * from barrier's policy and handed to the core the way the simulator tries a new mode: one whose
 * upkeep is nowhere — whatever its `upkeepDue` says, no rig resets and the cluster never cools
 * down, though it is still probed between batches — and one whose cluster upkeep is due only
 * before every other batch. Expectations come from those two policies and the plan.
 */
import { describe, expect, it } from 'vitest';
import type { BatchPolicy } from '../../../src/shared/dispatch/policies';
import { barrierPolicy } from '../../../src/shared/dispatch/policies/barrier';
import { barrier, batchTimes, node, planOf, Sweep, timeline } from './upkeep-sweep';

const health = { probe_before_batch: true, on_failure: 'redistribute' as const, quarantine_after: 3, wait_seconds: 5 };

/** Two one-GPU rigs, four batches of two 10 s jobs; resets (1 s) and a 3 s cooldown planned between batches. */
const plan = () => planOf(barrier([node('rig1', 1), node('rig2', 1)], 8, 2, 1, { reset: true, cooldownSeconds: 3, nodeHealth: health }));

describe('a mode’s upkeep, as its policy says', () => {
  it('nowhere: no reset and no cooldown even if its upkeepDue answers yes; pause and probes still come between batches', () => {
    const nowhere: BatchPolicy = { ...barrierPolicy, mode: 'barrier without upkeep', upkeepScope: 'none', upkeepDue: () => true };
    const sweep = new Sweep(plan(), {}, nowhere).run();
    expect(sweep.decided('resetNode')).toEqual([]);
    expect(sweep.decided('coolingDown')).toEqual([]);
    expect(timeline(sweep).filter((span) => span.kind === 'cooldown')).toEqual([]);
    expect(sweep.decided('probeNode')).toHaveLength(2 * 3);
    expect(sweep.decided('startJob')).toHaveLength(8);
    // Each batch starts once the one before has drained and the probes (1 s) are back.
    const times = batchTimes(sweep);
    for (const b of [2, 3, 4]) expect(times.get(b)!.firstStart).toBe(times.get(b - 1)!.lastEnd + 1000);
  });

  it('due before every other batch: the rigs reset and the cluster cools down only there', () => {
    // upkeepDue is asked before batch k+1 with k batches begun: due before batches 2 and 4.
    const everyOther: BatchPolicy = { ...barrierPolicy, mode: 'barrier every other', upkeepDue: (state) => state.batchesBegun % 2 === 1 };
    const sweep = new Sweep(plan(), {}, everyOther).run();
    const times = batchTimes(sweep);
    const resetsBefore = (b: number) => sweep.decided('resetNode').filter(({ at }) => at >= times.get(b - 1)!.lastEnd && at <= times.get(b)!.firstStart).length;
    expect([2, 3, 4].map(resetsBefore)).toEqual([2, 0, 2]);
    expect(
      timeline(sweep)
        .filter((span) => span.kind === 'cooldown')
        .map((span) => span.batch),
    ).toEqual([2, 4]);
    expect(sweep.decided('coolingDown')).toHaveLength(2);
  });
});
