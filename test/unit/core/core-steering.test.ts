/**
 * An operator's exclude and readmit as the core takes them (docs/operating.md, "Steering"): a node
 * excluded in the middle of a barrier sweep has the batches still to come planned again over the
 * nodes left, so no node goes past its per-batch cap and users are told the new batch count; a
 * readmit of a GPU that was never out changes nothing. Expectations come from each case's plan
 * and the times of its messages.
 */
import { describe, expect, it } from 'vitest';
import { progressOf } from '../../../src/shared/dispatch/view';
import { barrier, node, planOf, Sweep } from './upkeep-sweep';

describe('a node excluded in the middle of a barrier sweep', () => {
  it('has the batches still to come planned over the nodes left: each as large as their per-batch caps allow', () => {
    // Two 2-GPU rigs, 8 jobs of 10 s in batches of 4, at most 2 per node per batch: batch 1's four
    // jobs all start at 0 s. rig2 is excluded at 5 s; rig1 alone may take 2 jobs a batch, so the
    // 4 jobs left make batches 2 and 3 of 2 jobs each — 3 batches in all.
    const sweep = new Sweep(planOf(barrier([node('rig1', 2), node('rig2', 2)], 8, 4, 2))).inject(5000, { type: 'exclude', selector: { node: 'rig2' } }).run();
    expect(sweep.logged('batch-start').map(({ batch, batchCount, jobs }) => ({ batch, batchCount, jobs }))).toEqual([
      { batch: 1, batchCount: 2, jobs: 4 },
      { batch: 2, batchCount: 3, jobs: 2 },
      { batch: 3, batchCount: 3, jobs: 2 },
    ]);
    expect(sweep.decided('loadJobs').map(({ decision }) => [decision.start, decision.end])).toEqual([
      [0, 4],
      [4, 6],
      [6, 8],
    ]);
    const afterExclusion = sweep.decided('startJob').filter(({ at }) => at > 5000);
    expect(afterExclusion.map(({ decision }) => decision.node.name)).toEqual(['rig1', 'rig1', 'rig1', 'rig1']);
    expect(sweep.decided('startJob')).toHaveLength(8);
    expect(progressOf(sweep.state)).toMatchObject({ phase: 'done', batch: 3, batchCount: 3, done: 8, failed: 0 });
  });
});

describe('a readmit of a GPU that was never excluded', () => {
  it('changes nothing: the node stays in service and the sweep runs to its end as planned', () => {
    // One 2-GPU rig, 4 jobs of 10 s in two batches of 2; GPU 1 is readmitted at 5 s though nobody excluded it.
    const sweep = new Sweep(planOf(barrier([node('rig1', 2)], 4, 2, 2))).inject(5000, { type: 'readmit', selector: { node: 'rig1', gpu: 1 } }).run();
    expect(progressOf(sweep.state).nodes).toMatchObject([{ name: 'rig1', excludedGpus: [], state: 'ok', done: 4 }]);
    expect(sweep.logged('batch-start').map(({ batch, jobs }) => ({ batch, jobs }))).toEqual([
      { batch: 1, jobs: 2 },
      { batch: 2, jobs: 2 },
    ]);
    expect(sweep.decided('sweepOver')).toMatchObject([{ decision: { cancelled: false } }]);
  });

  it('next to another excluded GPU of its node, leaves that one out', () => {
    // rig1's GPU 0 is excluded at 1 s; GPU 1, never out, is readmitted at 2 s: GPU 0 stays excluded.
    const sweep = new Sweep(planOf(barrier([node('rig1', 2)], 4, 2, 2)))
      .inject(1000, { type: 'exclude', selector: { node: 'rig1', gpu: 0 } })
      .inject(2000, { type: 'readmit', selector: { node: 'rig1', gpu: 1 } })
      .run();
    expect(progressOf(sweep.state).nodes).toMatchObject([{ name: 'rig1', excludedGpus: [0] }]);
    expect(
      sweep
        .decided('startJob')
        .filter(({ at }) => at > 1000)
        .map(({ decision }) => decision.gpu),
    ).toEqual([1, 1]);
  });
});
