/**
 * Probes of a node lost mid-sweep (docs/sweeps.md, node health) in a plan made before
 * `node_health` existed, as a carried or replayed sweep has it: its failed probes still count,
 * and the node is quarantined after the default `quarantine_after` of 3 failures in a row.
 * Expectations come from the case's plan and the probe answers it gives.
 */
import { describe, expect, it } from 'vitest';
import { progressOf } from '../../../src/shared/dispatch/view';
import { node, planOf, ranges, Sweep } from './upkeep-sweep';

describe('a node lost in a sweep whose plan has no node_health', () => {
  it('is probed again until its third failed probe in a row quarantines it; the other node runs on', () => {
    // Unbatched, two 1-GPU rigs, 10 jobs of 10 s: rig2's first job (j1) comes back lost at 10 s,
    // and every probe of rig2 fails. rig1 alone runs the rest, long enough for three probes.
    const plan = planOf({ nodes: [node('rig1', 1), node('rig2', 1)], totalJobs: 10, batches: ranges(10, 100), perNodeCap: null, batching: {} });
    expect(plan.nodeHealth).toBeUndefined();
    const sweep = new Sweep(plan, { lost: (i) => i === 1, probeHealthy: (name) => name !== 'rig2' }).run();
    const probes = sweep.decided('probeNode').map(({ decision }) => decision);
    expect(probes.map(({ node: probed, lost }) => ({ node: probed.name, lost }))).toEqual([
      { node: 'rig2', lost: true },
      { node: 'rig2', lost: true },
      { node: 'rig2', lost: true },
    ]);
    const rig2Lines = sweep.logged('probe').filter((line) => line.node === 'rig2');
    expect(rig2Lines.map(({ verdict }) => verdict)).toEqual(['left out', 'quarantined']);
    expect(rig2Lines[1].message).toBe('health_command exited 1 (rig2 #3)');
    expect(sweep.state.warnings.filter((warning) => warning.includes('rig2 quarantined'))).toHaveLength(1);
    expect(progressOf(sweep.state).nodes.map(({ name, state }) => ({ name, state }))).toEqual([
      { name: 'rig1', state: 'ok' },
      { name: 'rig2', state: 'quarantined' },
    ]);
    // Nothing starts on rig2 once j1 has come back lost; every job still ends.
    expect(sweep.decided('startJob').filter(({ at, decision }) => decision.node.name === 'rig2' && at >= 10_000)).toEqual([]);
    expect(progressOf(sweep.state)).toMatchObject({ phase: 'done', done: 10 });
  });
});
