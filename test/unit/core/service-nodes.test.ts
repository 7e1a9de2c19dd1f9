/**
 * Which nodes and GPUs may take jobs (docs/operating.md, steering; docs/sweeps.md, node health):
 * an operator's exclusion of a GPU or a whole node, a node left out after a failed probe or a lost
 * link, a quarantined node — and what one probe means for a node. Each case writes the steering
 * it is about; the expected answer is read off that steering by hand.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { initialState } from '../../../src/shared/dispatch/init';
import { activeNodes, excludedGpus, isGpuExcluded, isNodeOut, probed, probeVerdict, staggerSeconds } from '../../../src/shared/dispatch/service';
import type { PlannedState, Steering, SweepState } from '../../../src/shared/dispatch/state';
import { node, plan } from './serving-sweep';

const rigs = [node('a', 4), node('b', 2), node('c', 3)];

function steered(steering: Partial<Steering>): PlannedState {
  const base = initialState(0);
  return { ...base, plan: plan({ nodes: rigs, totalJobs: 4 }), allNodes: rigs, steering: { ...base.steering, ...steering } };
}

describe('GPUs and nodes out of service', () => {
  it('a node left out or quarantined has every GPU out; one merely probed before is in', () => {
    const state = steered({ leftOut: { a: 'lost contact' }, quarantined: { b: 'failed 3 probes' }, probeFailures: { c: 1 } });
    for (const gpu of [0, 1, 3]) expect(isGpuExcluded(state, 'a', gpu)).toBe(true);
    for (const gpu of [0, 1]) expect(isGpuExcluded(state, 'b', gpu)).toBe(true);
    for (const gpu of [0, 1, 2]) expect(isGpuExcluded(state, 'c', gpu)).toBe(false);
    expect(activeNodes(state).map((n) => n.name)).toEqual(['c']);
  });

  it('an operator excludes a whole node, or some of its GPUs', () => {
    const state = steered({ excluded: { a: 'all', c: [1] } });
    for (const gpu of [0, 1, 2, 3]) expect(isGpuExcluded(state, 'a', gpu)).toBe(true);
    expect([0, 1, 2].map((gpu) => isGpuExcluded(state, 'c', gpu))).toEqual([false, true, false]);
    expect(isGpuExcluded(state, 'b', 0)).toBe(false);
    expect(excludedGpus(state, rigs[0])).toEqual([0, 1, 2, 3]);
    expect(excludedGpus(state, rigs[1])).toEqual([]);
    expect(excludedGpus(state, rigs[2])).toEqual([1]);
  });

  it('a node is out of service exactly when every one of its GPUs is', () => {
    const gpuSets = fc.tuple(fc.subarray([0, 1, 2, 3]), fc.subarray([0, 1]), fc.subarray([0, 1, 2]));
    fc.assert(
      fc.property(gpuSets, ([a, b, c]) => {
        const state = steered({ excluded: { a, b, c } });
        const out = activeNodes(state).map((n) => n.name);
        rigs.forEach((rig, i) => {
          const excluded = [a, b, c][i];
          expect(excludedGpus(state, rig)).toEqual(excluded);
          expect(isNodeOut(state, rig)).toBe(excluded.length === rig.gpuCount);
          expect(out.includes(rig.name)).toBe(excluded.length < rig.gpuCount);
        });
      }),
    );
  });

  it('names why a node takes no job: quarantined before left out; nothing for a node merely excluded', () => {
    const state = steered({ leftOut: { a: 'probe failed', b: 'lost' }, quarantined: { b: 'failed 3 probes' }, excluded: { c: 'all' } });
    expect(probeVerdict(state, 'a')).toBe('left out');
    expect(probeVerdict(state, 'b')).toBe('quarantined');
    expect(probeVerdict(state, 'c')).toBeUndefined();
  });
});

describe('the stagger in force', () => {
  it("is the node's own before pre-flight has put numbers in force, then the operators'", () => {
    const before: SweepState = { ...initialState(0), allNodes: [node('a', 1, 3)] };
    expect(staggerSeconds(before, node('a', 1, 3))).toBe(3);
    const set = { ...before, settings: { max_jobs_per_batch: 4, max_jobs_per_node_per_batch: 2, inter_batch_cooldown_seconds: 0, stagger_delay: { a: 0.5 } } };
    expect(staggerSeconds(set, node('a', 1, 3))).toBe(0.5);
  });
});

describe('what a probe means for a node', () => {
  it('a failed probe leaves the node out and asks for the batches to be planned again', () => {
    const state = steered({});
    expect(probed(state, 'a', false, 'unreachable', 3)).toBe('left out');
    expect(state.steering.leftOut.a).toBeDefined();
    expect(state.steering.replanNeeded).toBe(true);
    expect(probeVerdict(state, 'a')).toBe('left out');
  });

  it('quarantine_after failures in a row quarantine it, and not one sooner', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), (quarantineAfter) => {
        const state = steered({});
        for (let failure = 1; failure < quarantineAfter; failure++) expect(probed(state, 'a', false, 'no answer', quarantineAfter)).toBe('left out');
        expect(probed(state, 'a', false, 'no answer', quarantineAfter)).toBe('quarantined');
        expect(state.steering.quarantined.a).toBeDefined();
        expect(state.steering.leftOut.a).toBeUndefined();
      }),
    );
  });

  it('a passing probe readmits a node that was out (planned again), and leaves a healthy one as it was', () => {
    const state = steered({});
    expect(probed(state, 'a', true, 'ok', 3)).toBe('healthy');
    expect(state.steering.replanNeeded).toBe(false);
    probed(state, 'b', false, 'unreachable', 3);
    state.steering.replanNeeded = false;
    expect(probed(state, 'b', true, 'ok', 3)).toBe('readmitted');
    expect(state.steering.replanNeeded).toBe(true);
    expect(state.steering.leftOut.b).toBeUndefined();
    // Its failures in a row start again: three more are needed to quarantine it.
    expect(probed(state, 'b', false, 'unreachable', 3)).toBe('left out');
    expect(probed(state, 'b', false, 'unreachable', 3)).toBe('left out');
    expect(probed(state, 'b', false, 'unreachable', 3)).toBe('quarantined');
  });
});
