/**
 * Node health before every batch but the first (docs/sweeps.md, "Node health"): each node in
 * service is probed; one that fails is left out of that batch and re-admitted once a probe
 * passes; `quarantine_after` failures in a row quarantine it for the rest of the sweep;
 * `on_failure` "wait" holds the batch and probes the failing nodes every `wait_seconds`, "fail"
 * fails the sweep. One probe of a node at a time. Expectations come from each case's nodes, probe
 * answers and times.
 */
import { describe, expect, it } from 'vitest';
import type { NodeHealthPolicy } from '../../../src/shared/config';
import { barrier, batchTimes, node, planOf, Sweep, timeline, type Behaviour } from './upkeep-sweep';

const health = (more: Partial<NodeHealthPolicy> = {}): NodeHealthPolicy => ({
  probe_before_batch: true,
  on_failure: 'redistribute',
  quarantine_after: 3,
  wait_seconds: 4,
  ...more,
});

const rigs = () => [node('rig1', 1), node('rig2', 1), node('rig3', 1)];

/** Three one-GPU rigs, `batches` batches of three jobs (one a node), probed under `policy`. */
function sweep(batches: number, policy: NodeHealthPolicy | undefined, behaviour: Behaviour = {}): Sweep {
  return new Sweep(planOf(barrier(rigs(), 3 * batches, 3, 1, { nodeHealth: policy, cooldownSeconds: 2 })), behaviour);
}

/** Nodes that started jobs of batch `b`. */
const nodesOf = (s: Sweep, b: number) =>
  [
    ...new Set(
      s
        .decided('startJob')
        .filter(({ decision }) => decision.batch === b)
        .map(({ decision }) => decision.node.name),
    ),
  ].sort();

/** Which nodes were probed (pre-flight's checks aside), in order. */
const probedNodes = (s: Sweep) => s.decided('probeNode').map(({ decision }) => decision.node.name);

describe('node health between batches', () => {
  it('probes every node in service before each batch but the first, once the cooldown is over', () => {
    const s = sweep(3, health()).run();
    expect(probedNodes(s).sort()).toEqual(['rig1', 'rig1', 'rig2', 'rig2', 'rig3', 'rig3']);
    const times = batchTimes(s);
    for (const { at, decision } of s.decided('probeNode')) {
      expect(decision).toMatchObject({ health: true, lost: false, clearHipCache: false });
      // After batch b-1 drained and cooled down (2 s), before batch b: never inside a batch.
      const b = [2, 3].find((n) => at >= times.get(n - 1)!.lastEnd + 2000 && at < times.get(n)!.firstStart);
      expect(b).toBeDefined();
    }
    // Healthy nodes are not news: no probe line; and a probe is no reset in the timeline.
    expect(s.logged('probe')).toEqual([]);
    expect(timeline(s).filter((span) => span.kind === 'reset')).toEqual([]);
  });

  it('probes nothing when probe_before_batch is off or the plan has no node_health', () => {
    expect(probedNodes(sweep(3, health({ probe_before_batch: false })).run())).toEqual([]);
    expect(probedNodes(sweep(3, undefined).run())).toEqual([]);
  });

  it('probes neither a quarantined nor a wholly excluded node; one with some GPUs excluded still is', () => {
    const nodes = [node('rig1', 2), node('rig2', 1), node('rig3', 1)];
    const s = new Sweep(planOf(barrier(nodes, 8, 4, 2, { nodeHealth: health({ quarantine_after: 1 }) })), {
      probeHealthy: (name) => name !== 'rig2',
    })
      .inject(1, { type: 'exclude', selector: { node: 'rig3' } })
      .inject(1, { type: 'exclude', selector: { node: 'rig1', gpu: 0 } })
      .run();
    // rig2 fails its first probe and is quarantined at once: never probed again.
    expect(probedNodes(s)).toEqual(['rig1', 'rig2', ...probedNodes(s).slice(2)]);
    expect(
      probedNodes(s)
        .slice(2)
        .every((name) => name === 'rig1'),
    ).toBe(true);
    expect(s.logged('probe').map(({ node, verdict }) => [node, verdict])).toEqual([['rig2', 'quarantined']]);
  });

  it('leaves a node that fails out of that batch and takes it back once a probe passes', () => {
    const s = sweep(3, health(), { probeHealthy: (name, n) => !(name === 'rig2' && n === 1) }).run();
    expect(nodesOf(s, 1)).toEqual(['rig1', 'rig2', 'rig3']);
    expect(nodesOf(s, 2)).toEqual(['rig1', 'rig3']);
    expect(nodesOf(s, 3)).toEqual(['rig1', 'rig2', 'rig3']);
    expect(s.logged('probe').map(({ batch, node, verdict }) => ({ batch, node, verdict }))).toEqual([
      { batch: 2, node: 'rig2', verdict: 'left out' },
      { batch: 3, node: 'rig2', verdict: 'readmitted' },
    ]);
    // The failure is a warning naming the node and the batch it is left out of; the readmission is not.
    expect(s.state.warnings).toHaveLength(1);
    expect(s.state.warnings[0]).toMatch(/before batch 2.*rig2/);
    expect(s.decided('failSweep')).toEqual([]);
  });

  it('quarantines a node after quarantine_after failed probes in a row, for the rest of the sweep', () => {
    const s = sweep(5, health({ quarantine_after: 2 }), { probeHealthy: (name) => name !== 'rig2' }).run();
    expect(s.logged('probe').map(({ batch, verdict }) => [batch, verdict])).toEqual([
      [2, 'left out'],
      [3, 'quarantined'],
    ]);
    expect(probedNodes(s).filter((name) => name === 'rig2')).toHaveLength(2);
    for (const b of [2, 3, 4]) expect(nodesOf(s, b)).toEqual(['rig1', 'rig3']);
    expect(s.state.steering.quarantined.rig2).toBeDefined();
    // One warning when it is left out, one when it is quarantined.
    expect(s.state.warnings).toHaveLength(2);
    expect(s.state.warnings.every((warning) => warning.includes('rig2'))).toBe(true);
  });

  it('fails the sweep on a failed probe under on_failure "fail", a quarantining one too, and starts nothing after', () => {
    for (const quarantineAfter of [1, 3]) {
      const s = sweep(3, health({ on_failure: 'fail', quarantine_after: quarantineAfter }), { probeHealthy: (name) => name !== 'rig3' }).run();
      const fails = s.decided('failSweep');
      expect(fails).toHaveLength(1);
      expect(fails[0].decision.errorType).toBe('NodeUnhealthy');
      expect(fails[0].decision.message).toMatch(/rig3/);
      expect(s.state.over).toBe(true);
      const failedAt = s.trace.findIndex((step) => step.decisions.some((d) => d.type === 'failSweep'));
      expect(s.trace.slice(failedAt + 1)).toEqual([]);
      expect(nodesOf(s, 2)).toEqual([]);
    }
  });

  it('under on_failure "fail" a node lost in the batch and healthy again at the probe is taken back, not failed', () => {
    // rig2's job comes back lost; it is left out and probed again 5 s on: the probe before batch 2 readmits it.
    const s = sweep(2, health({ on_failure: 'fail' }), { lost: (i) => i === 1, jobSeconds: (i) => (i === 1 ? 1 : 3) }).run();
    expect(s.decided('failSweep')).toEqual([]);
    expect(nodesOf(s, 2)).toEqual(['rig1', 'rig2', 'rig3']);
  });

  it('never runs two probes of one node at once: the probe before a batch waits for a lost node’s probe', () => {
    // rig2 is lost at 2 s and probed again at 7 s (answered at 8 s); the batch drains at 7.5 s.
    const s = new Sweep(planOf(barrier(rigs(), 6, 3, 1, { nodeHealth: health() })), {
      lost: (i) => i === 1,
      jobSeconds: (i) => (i === 1 ? 2 : 7.5),
    }).run();
    const answered = new Map(s.heard('nodeProbed').map(({ at, event }) => [event.work, at]));
    const spans = s.decided('probeNode').map(({ at, decision }) => ({ node: decision.node.name, from: at, to: answered.get(decision.work)! }));
    expect(spans.filter((span) => span.node === 'rig2').length).toBeGreaterThan(1);
    for (const a of spans)
      for (const b of spans) if (a !== b && a.node === b.node) expect(a.to <= b.from || b.to <= a.from, `${a.node} probed twice at once`).toBe(true);
  });

  it('under on_failure "wait" holds the batch and probes only the failing node every wait_seconds until it passes', () => {
    const s = sweep(2, health({ on_failure: 'wait', wait_seconds: 4, quarantine_after: 5 }), {
      probeHealthy: (name, n) => !(name === 'rig2' && n < 3),
    }).run();
    const rig2 = s.decided('probeNode').filter(({ decision }) => decision.node.name === 'rig2');
    const answered = new Map(s.heard('nodeProbed').map(({ at, event }) => [event.work, at]));
    expect(rig2).toHaveLength(3);
    // Each probe again wait_seconds after the failed one came back.
    for (let i = 1; i < 3; i++) expect(rig2[i].at).toBe(answered.get(rig2[i - 1].decision.work)! + 4000);
    expect(probedNodes(s).filter((name) => name !== 'rig2')).toEqual(['rig1', 'rig3']);
    const secondBatch = batchTimes(s).get(2)!;
    expect(secondBatch.firstStart).toBe(answered.get(rig2[2].decision.work));
    expect(nodesOf(s, 2)).toEqual(['rig1', 'rig2', 'rig3']);
    expect(s.state.waitingFor).toBeNull();
  });
});
