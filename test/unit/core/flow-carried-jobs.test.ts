/**
 * First attempts a barrier batch could not start — their node was taken out as the batch was
 * read — are carried into the next batch (flow.ts). Here no job is left to read once the batch
 * ends: the carried job still runs, in a batch of its own; it counts as a job left when the batch
 * failed above max_fail_percentage and when a cancel comes. Expectations come from the plan and
 * the events.
 */
import { describe, expect, it } from 'vitest';
import { node, ofType, plan, starts, Sweep } from './serving-sweep';

/**
 * Two one-GPU nodes, one batch of both jobs, at most one a node; b is taken out while the batch's
 * jobs are read, so a starts j0 and j1 waits for a node that may take it.
 */
function sweepWithCarriedJob(maxFailPercentage?: number): Sweep {
  const planned = plan({ nodes: [node('a', 1), node('b', 1)], totalJobs: 2, batches: { ranges: [[0, 2]], perNodeCap: 1, maxJobsPerBatch: 2 } });
  const sweep = new Sweep({ ...planned, batching: { ...planned.batching, max_fail_percentage: maxFailPercentage } });
  const [asked] = ofType(sweep.send({ type: 'begin' }, 0), 'plan');
  const reads = sweep.send({ type: 'planned', work: asked.work, plan: sweep.plan }, 0);
  sweep.send({ type: 'exclude', selector: { node: 'b' } }, 0);
  expect(starts(sweep.load(reads)).map((start) => [start.job.job_id, start.node.name])).toEqual([['j0', 'a']]);
  return sweep;
}

describe('a job a batch could not start, with no job left to read', () => {
  it('runs in a next batch before the Results JSON is written', () => {
    const sweep = sweepWithCarriedJob();
    const between = sweep.settle(sweep.ended('j0', true, 1000));
    expect(ofType(between, 'batchOver')).toEqual([{ type: 'batchOver', batch: 1 }]);
    expect(ofType(between, 'writeResults')).toEqual([]);
    expect(starts(between).map((start) => [start.job.job_id, start.node.name, start.batch])).toEqual([['j1', 'a', 2]]);
    const [write] = ofType(sweep.settle(sweep.ended('j1', true, 2000)), 'writeResults');
    expect(write.input.stoppedReason).toBeUndefined();
  });

  it('is not run after a batch that failed above max_fail_percentage, which ends the sweep saying why', () => {
    const sweep = sweepWithCarriedJob(50);
    // j0 fails (no retries): 1 of 1 jobs of batch 1 failed, 100% > 50%.
    const end = sweep.settle(sweep.ended('j0', false, 1000));
    const [write] = ofType(end, 'writeResults');
    expect(write.input.stoppedReason).toBe('batch 1: 1 of 1 jobs failed (100%), above max_fail_percentage 50; no further batch was started');
    expect(starts(sweep.decided).map((start) => start.job.job_id)).toEqual(['j0']);
  });

  it('is a job a cancel between the batches leaves unstarted: the Results JSON says no further job was started', () => {
    const sweep = sweepWithCarriedJob();
    const [record] = ofType(sweep.ended('j0', true, 1000), 'record');
    expect(sweep.send({ type: 'cancel' }, 1100)).toEqual([]);
    const [write] = ofType(sweep.send({ type: 'recorded', work: record.work }, 1200), 'writeResults');
    expect(write.input.stoppedReason).toBe('cancelled; no further job was started');
    expect(starts(sweep.decided).map((start) => start.job.job_id)).toEqual(['j0']);
  });
});
