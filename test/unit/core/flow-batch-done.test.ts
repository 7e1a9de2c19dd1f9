/**
 * When a batch is over (flow.ts): nothing runs or is being read, and nothing in its queue can
 * start anywhere — a first attempt waits for a node in service that may take it (a staggered one
 * included, whose spacing is not over yet); a retry, which has no later batch, waits for a node
 * that may come back, as long as one is not quarantined. Expectations come from the plan and the
 * events.
 */
import { describe, expect, it } from 'vitest';
import { node, ofType, plan, starts, Sweep, twoBatchesOfTwo } from './serving-sweep';

/** docs/sweeps.md: a staggered node's next job is sent this much before the stagger ends. */
const LEAD_MS = 250;

describe('a batch whose jobs are still being read', () => {
  it('is not over, whatever happens meanwhile: a pause asked for then waits for its end', () => {
    const sweep = new Sweep(twoBatchesOfTwo());
    const [asked] = ofType(sweep.send({ type: 'begin' }, 0), 'plan');
    const reads = sweep.send({ type: 'planned', work: asked.work, plan: sweep.plan }, 0);
    expect(ofType(sweep.send({ type: 'pause' }, 500), 'batchOver')).toEqual([]);
    expect(starts(sweep.load(reads)).map((start) => [start.job.job_id, start.batch])).toEqual([
      ['j0', 1],
      ['j1', 1],
    ]);
  });
});

describe('first attempts waiting for a staggered node', () => {
  it('keep the batch going while the other node is out, and start in it once the spacing is over', () => {
    // One batch of four jobs, two a node; a spaces its starts 10 s apart, b is taken out as the batch is read.
    const sweep = new Sweep(plan({ nodes: [node('a', 1, 10), node('b', 1)], totalJobs: 4, batches: { ranges: [[0, 4]], perNodeCap: 2, maxJobsPerBatch: 4 } }));
    const [asked] = ofType(sweep.send({ type: 'begin' }, 0), 'plan');
    const reads = sweep.send({ type: 'planned', work: asked.work, plan: sweep.plan }, 0);
    sweep.send({ type: 'exclude', selector: { node: 'b' } }, 0);
    expect(starts(sweep.load(reads)).map((start) => start.job.job_id)).toEqual(['j0']);
    sweep.started('j0', 0);
    // j0 ends long before a's spacing is over: nothing runs, three jobs wait for a.
    expect(ofType(sweep.ended('j0', true, 1000), 'batchOver')).toEqual([]);
    const next = starts(sweep.send({ type: 'timerFired' }, 10_000 - LEAD_MS));
    expect(next.map((start) => [start.job.job_id, start.node.name, start.batch])).toEqual([['j1', 'a', 1]]);
  });
});

describe('a retry whose nodes are lost', () => {
  it('waits for a node that may come back while the other is quarantined, and runs there once it is back', () => {
    const sweep = new Sweep(
      plan({ nodes: [node('a', 1), node('b', 1)], totalJobs: 2, maxRetries: 1, retryBackoffSeconds: 5, nodeHealth: { quarantine_after: 1 } }),
    );
    sweep.start();
    sweep.lost('j0', 10_000);
    sweep.lost('j1', 11_000);
    // docs/dispatcher-core.md: a lost node is probed every 5 s. a is unreachable: quarantined (quarantine_after 1).
    const [probeA] = ofType(sweep.send({ type: 'timerFired' }, 15_000), 'probeNode');
    expect(ofType(sweep.probed(probeA, null, 15_500), 'batchOver')).toEqual([]);
    // b answers its probe: back in service, it runs the first retry waiting.
    const [probeB] = ofType(sweep.send({ type: 'timerFired' }, 16_000), 'probeNode');
    expect([probeA.node.name, probeB.node.name]).toEqual(['a', 'b']);
    const back = starts(sweep.probed(probeB, true, 16_500));
    expect(back.map((start) => [start.job.job_id, start.attempt, start.node.name])).toEqual([['j0', 2, 'b']]);
  });
});
