/**
 * Which job goes to which GPU, and when (docs/sweeps.md, "Inside a batch"): standbys on busy GPUs
 * of unstaggered nodes once the job there confirmed its start, a retry away from the GPU it failed
 * on, start reports asked for only where something waits on them, the per-node cap counting first
 * attempts, and a staggered node timing its next start from its latest confirmed one. Sweeps
 * driven through `decide`; every expected GPU and time is read off the plan and the events.
 */
import { describe, expect, it } from 'vitest';
import { ofType, plan, node, starts, Sweep } from './serving-sweep';

/** docs/sweeps.md: a staggered node's next job is sent this much before the stagger ends. */
const LEAD_MS = 250;

describe('standbys', () => {
  it('a busy GPU of an unstaggered node takes its next job ahead once the job there reported its start', () => {
    const sweep = new Sweep(plan({ nodes: [node('a', 1)], totalJobs: 2 }));
    expect(starts(sweep.start()).map((s) => [s.job.job_id, s.gpu, s.standby, s.reportStart])).toEqual([['j0', 0, false, true]]);
    // Not before: a standby sent behind a job still on its way could reach the node first.
    expect(starts(sweep.send({ type: 'timerFired' }, 100))).toEqual([]);
    expect(starts(sweep.started('j0', 200)).map((s) => [s.job.job_id, s.gpu, s.standby])).toEqual([['j1', 0, true]]);
    // It counts as running only once the job ahead of it has ended.
    expect(sweep.state.counts.running).toBe(1);
    sweep.ended('j0', true, 300);
    expect(sweep.state.counts.running).toBe(1);
  });
});

describe('a retry', () => {
  it('goes to another free GPU than the one its attempt failed on', () => {
    const sweep = new Sweep(plan({ nodes: [node('a', 2)], totalJobs: 2, maxRetries: 1, retryBackoffSeconds: 5 }));
    expect(starts(sweep.start()).map((s) => [s.job.job_id, s.gpu])).toEqual([
      ['j0', 0],
      ['j1', 1],
    ]);
    // GPU 0 frees up first, so it has been idle longest when the retry's backoff ends.
    sweep.ended('j0', false, 1000);
    sweep.ended('j1', true, 2000);
    expect(starts(sweep.send({ type: 'timerFired' }, 6000)).map((s) => [s.job.job_id, s.attempt, s.gpu])).toEqual([['j0', 2, 1]]);
  });
});

describe('start reports', () => {
  it('are asked of jobs on a staggered node, and not where neither a stagger nor a standby waits on them', () => {
    // Rolling mode sends no standbys: a node drains before its reset.
    const rolling = plan({
      nodes: [node('a', 1, 0), node('b', 1, 2)],
      totalJobs: 2,
      mode: 'rolling',
      batches: { ranges: [[0, 2]], perNodeCap: 4, maxJobsPerBatch: 8 },
    });
    expect(starts(new Sweep(rolling).start()).map((s) => [s.node.name, s.reportStart])).toEqual([
      ['a', false],
      ['b', true],
    ]);
  });
});

describe('the per-node cap of a barrier batch', () => {
  it('counts first attempts only: a retry the node runs leaves room for the first attempts still allowed', () => {
    const capped = plan({ nodes: [node('a', 2)], totalJobs: 4, batches: { ranges: [[0, 4]], perNodeCap: 3, maxJobsPerBatch: 4 }, maxRetries: 1 });
    const sweep = new Sweep(capped);
    expect(starts(sweep.start()).map((s) => s.job.job_id)).toEqual(['j0', 'j1']);
    sweep.started('j0', 10);
    // j2 waits behind j0 as a standby: a's third first attempt, its last under the cap.
    expect(starts(sweep.started('j1', 10)).map((s) => s.job.job_id)).toEqual([]);
    expect(starts(sweep.decided).map((s) => [s.job.job_id, s.standby])).toEqual([
      ['j0', false],
      ['j1', false],
      ['j2', true],
    ]);
    sweep.ended('j1', false, 1000);
    expect(starts(sweep.send({ type: 'timerFired' }, 6000)).map((s) => [s.job.job_id, s.attempt, s.gpu])).toEqual([['j1', 2, 1]]);
    // GPU 0 taken out: the standby j2 is withdrawn and given back — a has started two first attempts that count.
    const [withdrawn] = ofType(sweep.send({ type: 'exclude', selector: { node: 'a', gpu: 0 } }, 6100), 'withdraw');
    sweep.send({ type: 'workCancelled', work: withdrawn.work }, 6150);
    // So once the retry runs, j2 may wait behind it: a third first attempt, still within the cap of 3.
    expect(starts(sweep.started('j1', 6200)).map((s) => [s.job.job_id, s.attempt, s.gpu, s.standby])).toEqual([['j2', 1, 1, true]]);
  });
});

describe('a staggered node', () => {
  const staggered = () => new Sweep(plan({ nodes: [node('a', 3, 2)], totalJobs: 3 }));

  it('sends its next job a stagger after the last confirmed start, less the lead', () => {
    const sweep = staggered();
    expect(starts(sweep.start()).map((s) => s.job.job_id)).toEqual(['j0']);
    const [wake] = ofType(sweep.started('j0', 100), 'wakeAt');
    expect(wake.at).toBe(100 + 2000 - LEAD_MS);
    expect(starts(sweep.send({ type: 'timerFired' }, wake.at)).map((s) => s.job.job_id)).toEqual(['j1']);
  });

  it('waits for the start report of its last job, whatever other start reports arrive', () => {
    const sweep = staggered();
    sweep.start();
    sweep.started('j0', 100);
    sweep.send({ type: 'timerFired' }, 1850);
    // j0's start reported again (its attempt started again after its worker was lost): j1's report is still awaited.
    expect(starts(sweep.send({ type: 'jobStarted', work: sweep.attempt('j0').work, startedAtMs: 1900 }, 1900))).toEqual([]);
    expect(starts(sweep.send({ type: 'timerFired' }, 10_000))).toEqual([]);
    const [wake] = ofType(sweep.started('j1', 10_000), 'wakeAt');
    expect(wake.at).toBe(10_000 + 2000 - LEAD_MS);
  });

  it('times its next start from its latest start, even when an earlier one is reported late', () => {
    const sweep = staggered();
    sweep.start();
    sweep.started('j0', 100);
    sweep.send({ type: 'timerFired' }, 1850);
    sweep.started('j1', 2000);
    // A repeated report of j0's start at 100 arrives now: the next start is still timed from j1's.
    expect(starts(sweep.send({ type: 'jobStarted', work: sweep.attempt('j0').work, startedAtMs: 100 }, 2010))).toEqual([]);
    expect(starts(sweep.send({ type: 'timerFired' }, 2000 + 2000 - LEAD_MS)).map((s) => s.job.job_id)).toEqual(['j2']);
  });

  it('ignores a start report of work that has ended or is not a job', () => {
    const sweep = staggered();
    sweep.start();
    sweep.started('j0', 100);
    sweep.send({ type: 'timerFired' }, 1850);
    const j0 = sweep.attempt('j0').work;
    sweep.ended('j0', true, 1900);
    const before = structuredClone(sweep.state);
    expect(sweep.send({ type: 'jobStarted', work: j0, startedAtMs: 1950 }, 1950)).toEqual([]);
    expect(sweep.state).toEqual(before);
  });
});
