/**
 * A sweep with no node in service between batches (flow.ts) waits: it reads no job and starts no
 * batch until a node is back. Nodes the probes before a batch left out come back only through a
 * probe, so with none in service each is probed every 5 s (docs/dispatcher-core.md: a lost node
 * is probed every 5 s) until one passes — and a node back in service is probed no more.
 * Expectations come from the plan and the events.
 */
import { describe, expect, it } from 'vitest';
import { node, ofType, plan, starts, Sweep, twoBatchesOfTwo } from './serving-sweep';

const REPROBE_MS = 5000;

describe('every node left out by its probe before a batch', () => {
  it('is probed again 5 s later, and every 5 s until it passes; the next batch runs on the node back', () => {
    // Two barrier batches of two jobs over two one-GPU nodes, probed before the second; three failures would quarantine one.
    const sweep = new Sweep(twoBatchesOfTwo({ nodeHealth: { probe_before_batch: true, quarantine_after: 3 } }));
    sweep.start();
    sweep.ended('j0', true, 1000);
    const probes = ofType(sweep.settle(sweep.ended('j1', true, 1000)), 'probeNode');
    expect(probes.map((probe) => [probe.node.name, probe.lost])).toEqual([
      ['a', false],
      ['b', false],
    ]);
    sweep.probed(probes[0], false, 2000);
    // Both failed: no node in service, no batch begins; both are probed again 5 s from now.
    const waiting = sweep.probed(probes[1], false, 3000);
    expect(ofType(waiting, 'loadJobs')).toEqual([]);
    expect(ofType(waiting, 'wakeAt').map((wake) => wake.at)).toEqual([3000 + REPROBE_MS]);
    const again = ofType(sweep.send({ type: 'timerFired' }, 3000 + REPROBE_MS), 'probeNode');
    expect(again.map((probe) => [probe.node.name, probe.lost])).toEqual([
      ['a', true],
      ['b', true],
    ]);
    // a fails again: probed 5 s after this answer. b passes: batch 2 runs on it.
    expect(ofType(sweep.probed(again[0], false, 8500), 'wakeAt').map((wake) => wake.at)).toEqual([8500 + REPROBE_MS]);
    const back = sweep.settle(sweep.probed(again[1], true, 9000));
    expect(starts(back).map((start) => [start.job.job_id, start.node.name, start.batch])).toEqual([['j2', 'b', 2]]);
    // Only a, still out, is probed at its time.
    const later = ofType(sweep.send({ type: 'timerFired' }, 8500 + REPROBE_MS), 'probeNode');
    expect(later.map((probe) => [probe.node.name, probe.lost])).toEqual([['a', true]]);
  });
});

describe('a sweep resumed between batches with every node out', () => {
  it('reads no more jobs until a node is back; the batch that begins then reads them', () => {
    // 101 jobs on one node without batches: a segment of 100 is read first, then one more.
    const sweep = new Sweep(plan({ nodes: [node('a', 2)], totalJobs: 101 }));
    expect(starts(sweep.start()).map((start) => start.job.job_id)).toEqual(['j0', 'j1']);
    // Paused: the segment grows no more; its jobs run to the end, one after another on the two GPUs.
    sweep.send({ type: 'pause' }, 1);
    for (let i = 0; i < 100; i++) expect(ofType(sweep.settle(sweep.ended(`j${i}`, true, 1000 + i)), 'loadJobs')).toEqual([]);
    expect(ofType(sweep.decided, 'batchOver')).toEqual([{ type: 'batchOver', batch: 1 }]);
    sweep.send({ type: 'exclude', selector: { node: 'a' } }, 2000);
    expect(ofType(sweep.settle(sweep.send({ type: 'resume' }, 3000)), 'loadJobs')).toEqual([]);
    const back = sweep.settle(sweep.send({ type: 'readmit', selector: { node: 'a' } }, 4000));
    expect(ofType(back, 'loadJobs').map((read) => [read.start, read.end])).toEqual([[100, 101]]);
    expect(starts(back).map((start) => start.job.job_id)).toEqual(['j100']);
  });
});
