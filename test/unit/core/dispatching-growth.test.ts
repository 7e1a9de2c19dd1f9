/**
 * The rest of what dispatching does inside a batch (docs/sweeps.md): a sweep without batches reads
 * its next 100 jobs when fewer first attempts wait than its nodes have slots — one read at a time;
 * a standby withdrawn from a GPU taken out of service, its node told at once; a node lost mid-sweep
 * probed again when its time comes, one probe at a time, without touching its HIP cache. Sweeps
 * driven through `decide`; every expected count is read off the plan and the events.
 */
import { describe, expect, it } from 'vitest';
import { probeLostNodes } from '../../../src/shared/dispatch/dispatching';
import { Step } from '../../../src/shared/dispatch/step';
import { node, ofType, plan, starts, Sweep } from './serving-sweep';

/** A sweep without batches reads its jobs this many at a time (docs/sweeps.md). */
const SEGMENT = 100;

describe('a growing segment', () => {
  /** One node with two slots, 250 jobs, read 100 at a time; no start is reported, so no standby is sent. */
  function growing() {
    const sweep = new Sweep(plan({ nodes: [node('a', 2)], totalJobs: 250, maxRetries: 1 }));
    expect(starts(sweep.start()).map((s) => s.job.job_id)).toEqual(['j0', 'j1']);
    return sweep;
  }
  const firstAttemptsWaiting = (sweep: Sweep) => sweep.state.queue.filter((entry) => entry.attempt === 1).length;

  it('reads the next jobs once fewer first attempts wait than the nodes have slots, not before', () => {
    const sweep = growing();
    // Each job's end starts the next: 98 wait, then one fewer at each end.
    for (let i = 0; firstAttemptsWaiting(sweep) > 2; i++) expect(ofType(sweep.ended(`j${i}`, true, 1000 + i), 'loadJobs')).toEqual([]);
    expect(firstAttemptsWaiting(sweep)).toBe(2);
    const [read] = ofType(sweep.ended('j96', true, 2000), 'loadJobs');
    expect([read.start, read.end]).toEqual([SEGMENT, 2 * SEGMENT]);
  });

  it('counts only first attempts: a retry waiting out its backoff does not hold the read back', () => {
    const sweep = growing();
    for (let i = 0; firstAttemptsWaiting(sweep) > 3; i++) sweep.ended(`j${i}`, true, 1000 + i);
    // j95 fails: j97 takes its GPU; two first attempts wait, and the retry of j95.
    expect(ofType(sweep.ended('j95', false, 2000), 'loadJobs')).toEqual([]);
    expect(sweep.state.queue.map((entry) => [entry.job.job_id, entry.attempt])).toEqual([
      ['j98', 1],
      ['j99', 1],
      ['j95', 2],
    ]);
    const [read] = ofType(sweep.ended('j96', true, 2100), 'loadJobs');
    expect([read.start, read.end]).toEqual([SEGMENT, 2 * SEGMENT]);
  });

  it('reads one segment at a time: none while a read is on its way', () => {
    const sweep = growing();
    for (let i = 0; firstAttemptsWaiting(sweep) > 2; i++) sweep.ended(`j${i}`, true, 1000 + i);
    expect(ofType(sweep.ended('j96', true, 2000), 'loadJobs')).toHaveLength(1);
    expect(ofType(sweep.ended('j97', true, 2100), 'loadJobs')).toEqual([]);
    expect(ofType(sweep.ended('j98', true, 2200), 'loadJobs')).toEqual([]);
  });
});

describe('a withdrawn standby', () => {
  it('is withdrawn from a GPU taken out of service, and a cancel waits until its node was told', () => {
    const sweep = new Sweep(plan({ nodes: [node('a', 1)], totalJobs: 2 }));
    sweep.start();
    sweep.started('j0', 100);
    const standby = sweep.attempt('j1');
    expect(standby.standby).toBe(true);
    const [withdraw] = ofType(sweep.send({ type: 'exclude', selector: { node: 'a', gpu: 0 } }, 200), 'withdraw');
    expect([withdraw.work, withdraw.node.name, withdraw.gpu, withdraw.jobId]).toEqual([standby.work, 'a', 0, 'j1']);
    expect(sweep.state.work[withdraw.tell]).toEqual({ kind: 'tell' });
    // A cancel: the running job and the standby are stopped; the node is still being told.
    const cancels = ofType(sweep.send({ type: 'cancel' }, 300), 'cancelWork').map((d) => d.work);
    expect(cancels.sort()).toEqual([sweep.attempt('j0').work, standby.work].sort());
    sweep.send({ type: 'workCancelled', work: sweep.attempt('j0').work }, 400);
    expect(ofType(sweep.send({ type: 'workCancelled', work: standby.work }, 500), 'writeResults')).toEqual([]);
    expect(ofType(sweep.send({ type: 'told', work: withdraw.tell }, 600), 'writeResults')).toHaveLength(1);
  });
});

describe('a node lost mid-sweep', () => {
  /** A sweep in service on a and b; `b` is due for a probe at 5000. */
  function lostB() {
    const sweep = new Sweep(plan({ nodes: [node('a', 1), node('b', 1)], totalJobs: 4 }));
    sweep.start();
    sweep.state.steering.leftOut.b = 'lost contact';
    sweep.state.nodes.b.reprobeAtMs = 5000;
    return sweep;
  }
  const probes = (step: Step) => ofType(step.decisions, 'probeNode');

  it('is probed again once its time has come — for its health, without clearing the HIP cache — and not before', () => {
    const sweep = lostB();
    const early = new Step(sweep.state, 4999);
    probeLostNodes(early);
    expect(probes(early)).toEqual([]);
    const due = new Step(sweep.state, 5000);
    probeLostNodes(due);
    expect(probes(due).map((p) => [p.node.name, p.lost, p.health, p.clearHipCache])).toEqual([['b', true, true, false]]);
    // Asked once: its next time comes only with the probe's answer.
    const later = new Step(sweep.state, 9000);
    probeLostNodes(later);
    expect(probes(later)).toEqual([]);
  });

  it('is not probed again while a probe of it is on its way; another lost node is', () => {
    const sweep = lostB();
    const first = new Step(sweep.state, 5000);
    probeLostNodes(first);
    expect(probes(first)).toHaveLength(1);
    // While that probe runs, the node's next time comes round again (no node in service asks for one), and a is lost too.
    sweep.state.nodes.b.reprobeAtMs = 6000;
    sweep.state.steering.leftOut.a = 'lost contact';
    sweep.state.nodes.a.reprobeAtMs = 6000;
    const again = new Step(sweep.state, 7000);
    probeLostNodes(again);
    expect(probes(again).map((p) => p.node.name)).toEqual(['a']);
  });
});
