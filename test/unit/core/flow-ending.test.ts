/**
 * How a sweep ends (flow.ts): the Results JSON once every job has its result and nothing runs any
 * more — a lost node's probe under way is waited for —, the reason a cancel after the last job
 * gives, and a sweep whose every node is quarantined, which ends after its batch instead of
 * cooling down for a next one. Sweeps driven through `decide`; every expectation is read off the
 * plan and the events.
 */
import { describe, expect, it } from 'vitest';
import type { ResultsJson } from '../../../src/shared/results';
import { node, ofType, plan, Sweep, twoBatchesOfTwo } from './serving-sweep';

const results = { status: 'complete' } as ResultsJson;

describe('a cancel after the last job ended, before the Results JSON', () => {
  it('waits for the last record, then writes the Results JSON saying the sweep was cancelled after its last job ended', () => {
    const sweep = new Sweep(plan({ nodes: [node('a', 1)], totalJobs: 1 }));
    sweep.start();
    const [record] = ofType(sweep.ended('j0', true, 1000), 'record');
    // Nothing runs on a node: nothing to stop, and the record on its way is waited for.
    expect(sweep.send({ type: 'cancel' }, 1100)).toEqual([]);
    const [write] = ofType(sweep.send({ type: 'recorded', work: record.work }, 1200), 'writeResults');
    expect(write.input.stoppedReason).toBe('cancelled after its last job ended');
    expect(sweep.send({ type: 'resultsWritten', work: write.work, results }, 1300)).toEqual([{ type: 'sweepOver', results, cancelled: true }]);
  });
});

describe('the Results JSON', () => {
  it('waits for a lost node’s probe under way, and names the node that probe quarantined', () => {
    const sweep = new Sweep(plan({ nodes: [node('a', 1), node('b', 1)], totalJobs: 2, nodeHealth: { quarantine_after: 1 } }));
    sweep.start();
    sweep.lost('j0', 10_000);
    // docs/dispatcher-core.md: a lost node is probed every 5 s.
    const [probe] = ofType(sweep.send({ type: 'timerFired' }, 15_000), 'probeNode');
    expect(probe).toMatchObject({ node: { name: 'a' }, lost: true });
    // The last job ends while a's probe is under way: its result is recorded, but nothing is written yet.
    const ending = sweep.settle(sweep.ended('j1', true, 16_000));
    expect(ofType(ending, 'record')).toHaveLength(1);
    expect(ofType(ending, 'writeResults')).toEqual([]);
    // The probe finds a unreachable: quarantined (quarantine_after 1), and the Results JSON says so.
    const [write] = ofType(sweep.probed(probe, null, 17_000), 'writeResults');
    expect(write.input.quarantined?.map((entry) => entry.node)).toEqual(['a']);
    expect(write.input.stoppedReason).toBeUndefined();
  });
});

describe('every node quarantined in the middle of a batch', () => {
  it('ends the sweep after that batch, saying how many jobs did not run, with no reset or cooldown for a next one', () => {
    // Two batches of two jobs over two one-GPU nodes, 30 s of cooldown between them.
    const sweep = new Sweep(twoBatchesOfTwo({ maxRetries: 1, retryBackoffSeconds: 5, cooldownSeconds: 30, nodeHealth: { quarantine_after: 1 } }));
    sweep.start();
    // Both nodes are lost: each job's retry waits for a node to come back.
    sweep.lost('j0', 10_000);
    sweep.lost('j1', 11_000);
    // Each is probed 5 s after it was lost and is unreachable: one failure quarantines it.
    const [probeA] = ofType(sweep.send({ type: 'timerFired' }, 15_000), 'probeNode');
    sweep.probed(probeA, null, 15_500);
    const [probeB] = ofType(sweep.send({ type: 'timerFired' }, 16_000), 'probeNode');
    expect([probeA.node.name, probeB.node.name]).toEqual(['a', 'b']);
    const end = sweep.settle(sweep.probed(probeB, null, 16_500));
    expect(ofType(end, 'batchOver')).toEqual([{ type: 'batchOver', batch: 1 }]);
    const [write] = ofType(end, 'writeResults');
    // The second batch's two jobs were never read.
    expect(write.input.stoppedReason).toBe('every node is quarantined; 2 jobs not run');
    expect(write.input.quarantined?.map((entry) => entry.node)).toEqual(['a', 'b']);
    expect(ofType(sweep.decided, 'resetNode')).toEqual([]);
    expect(ofType(sweep.decided, 'coolingDown')).toEqual([]);
    expect(sweep.state.phase).toBe('writing results');
  });
});
