/**
 * Barrier mode's upkeep between batches (docs/sweeps.md, steps 2-3): once a batch has drained,
 * every rig in service resets (localhost has no allocator reset), then the cluster cools down for
 * `inter_batch_cooldown_seconds` before the next batch starts; the reset spans and the cooldown
 * are in the timeline and the progress lines, and nodes are shown resetting / cooling down while
 * it lasts. Expectations come from the sweep each case builds and from the times the driver
 * answered at, never from the code.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { barrier, batchTimes, node, planOf, Sweep, timeline } from './upkeep-sweep';

const shapes = fc.record({
  nodes: fc.uniqueArray(fc.record({ name: fc.constantFrom('localhost', 'rig1', 'rig2', 'rig3'), gpus: fc.integer({ min: 1, max: 3 }) }), {
    minLength: 1,
    maxLength: 3,
    selector: (n) => n.name,
  }),
  size: fc.integer({ min: 1, max: 5 }),
  cap: fc.integer({ min: 1, max: 3 }),
  batches: fc.integer({ min: 2, max: 4 }),
  cooldown: fc.constantFrom(0, 2, 7),
  reset: fc.boolean(),
  jobSeconds: fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 20, maxLength: 20 }),
  // How long each rig's reset takes: the cooldown waits for the slowest.
  resetSeconds: fc.record({ rig1: fc.integer({ min: 1, max: 4 }), rig2: fc.integer({ min: 1, max: 4 }), rig3: fc.integer({ min: 1, max: 4 }) }),
});

describe('barrier upkeep between batches', () => {
  it('resets every rig once its batch has drained, then cools the cluster down before the next batch starts', () => {
    fc.assert(
      fc.property(shapes, ({ nodes, size, cap, batches, cooldown, reset, jobSeconds, resetSeconds }) => {
        const sweepNodes = nodes.map((n) => node(n.name, n.gpus));
        // A batch the nodes can always finish: at most every node's cap added up.
        const batchSize = Math.min(size, cap * nodes.length);
        const total = batchSize * (batches - 1) + 1;
        const sweep = new Sweep(planOf(barrier(sweepNodes, total, batchSize, cap, { reset, cooldownSeconds: cooldown })), {
          jobSeconds: (i) => jobSeconds[i % jobSeconds.length],
          resetSeconds: (name) => resetSeconds[name as keyof typeof resetSeconds],
        }).run();
        expect(sweep.decided('startJob')).toHaveLength(total);
        const times = batchTimes(sweep);
        expect([...times.keys()]).toEqual(Array.from({ length: batches }, (_, i) => i + 1));
        const resets = sweep.decided('resetNode');
        const answered = new Map(sweep.heard('nodeReset').map(({ at, event }) => [event.work, at]));
        const rigs = nodes.filter((n) => n.name !== 'localhost').map((n) => n.name);
        for (let b = 2; b <= batches; b++) {
          const before = times.get(b - 1)!;
          const next = times.get(b)!;
          const here = resets.filter(({ at }) => at >= before.lastEnd && at <= next.firstStart);
          // Every rig once, and only after the batch before has drained; localhost never.
          expect(here.map(({ decision }) => decision.node.name).sort()).toEqual(reset ? [...rigs].sort() : []);
          for (const { decision } of here) expect(decision.cooldownSeconds).toBe(cooldown);
          const quietFrom = Math.max(before.lastEnd, ...here.map(({ decision }) => answered.get(decision.work)!));
          // The whole cooldown after the last reset came back, and not longer: nothing else waits here.
          expect(next.firstStart).toBe(quietFrom + cooldown * 1000);
        }
        expect(resets).toHaveLength(reset ? rigs.length * (batches - 1) : 0);
        const coolings = sweep.decided('coolingDown');
        expect(coolings.map(({ decision }) => decision.seconds)).toEqual(cooldown > 0 ? Array(batches - 1).fill(cooldown) : []);
      }),
      { numRuns: 25 },
    );
  });

  it('shows the resets and the cooldown in the timeline and the progress lines, naming the batches around them', () => {
    const nodes = [node('rig1', 2), node('rig2', 2), node('localhost', 1)];
    // 10 jobs in batches of 5 (at most 2 a node): two batches, one upkeep between them.
    const sweep = new Sweep(planOf(barrier(nodes, 10, 5, 2, { reset: true, cooldownSeconds: 7 })), {
      resetOutcome: (name) => (name === 'rig2' ? { ok: false, message: 'allocator reset failed' } : { ok: true, message: 'reset done' }),
    }).run();
    const asked = new Map(sweep.decided('resetNode').map(({ at, decision }) => [decision.node.name, { at, work: decision.work }]));
    const answered = new Map(sweep.heard('nodeReset').map(({ at, event }) => [event.work, at]));
    const spans = timeline(sweep);
    const quietFrom = Math.max(...[...answered.values()]);
    for (const rig of ['rig1', 'rig2']) {
      const { at, work } = asked.get(rig)!;
      expect(spans).toContainEqual({ kind: 'reset', batch: 2, node: rig, start_ms: at, end_ms: answered.get(work), ok: rig === 'rig1' });
    }
    expect(spans.filter((span) => span.kind === 'reset')).toHaveLength(2);
    expect(spans.filter((span) => span.kind === 'cooldown')).toEqual([{ kind: 'cooldown', batch: 2, start_ms: quietFrom, end_ms: quietFrom + 7000 }]);
    expect(sweep.logged('reset').map(({ batch, node, ok, message }) => ({ batch, node, ok, message }))).toEqual([
      { batch: 1, node: 'rig1', ok: true, message: 'reset done' },
      { batch: 1, node: 'rig2', ok: false, message: 'allocator reset failed' },
    ]);
    expect(sweep.logged('cooldown').map(({ batch, seconds, node }) => ({ batch, seconds, node }))).toEqual([{ batch: 1, seconds: 7, node: undefined }]);
    // The failed reset is a warning naming its rig and when it was; the sweep goes on.
    expect(sweep.state.warnings).toHaveLength(1);
    expect(sweep.state.warnings[0]).toMatch(/before batch 2.*rig2/);
    expect(sweep.decided('startJob')).toHaveLength(10);
  });

  it('shows the rigs resetting, then every node cooling down, and the sweep in that phase, while it lasts', () => {
    const nodes = [node('rig1', 1), node('localhost', 1)];
    const sweep = new Sweep(planOf(barrier(nodes, 4, 2, 1, { reset: true, cooldownSeconds: 5 }))).run();
    // Steps in trace order: from the one that asked for the reset to the one that heard it back, and so on.
    const index = (found: (step: Sweep['trace'][number], i: number) => boolean) => sweep.trace.findIndex(found);
    const resetAsked = index((step) => step.decisions.some((d) => d.type === 'resetNode'));
    const resetBack = index((step) => step.event.type === 'nodeReset');
    // Batch 2 begins when it asks for its jobs.
    const nextStart = index((step, i) => i > resetBack && step.decisions.some((d) => d.type === 'loadJobs'));
    const during = (from: number, to: number) => sweep.trace.slice(from, to);
    const resetting = during(resetAsked, resetBack);
    expect(resetting.length).toBeGreaterThan(0);
    for (const step of resetting) {
      expect(step.upkeep).toEqual({ rig1: 'resetting', localhost: null });
      expect(step.phase).toBe('resetting');
    }
    // The reset's answer ends its node's 'resetting' at once; the cooldown begins with the next step.
    expect(sweep.trace[resetBack].upkeep.rig1).toBeNull();
    const cooling = during(resetBack + 1, nextStart);
    expect(cooling.length).toBeGreaterThan(0);
    for (const step of cooling) {
      expect(step.upkeep).toEqual({ rig1: 'cooling down', localhost: 'cooling down' });
      expect(step.phase).toBe('cooling down');
    }
    for (const step of during(nextStart, sweep.trace.length)) expect(step.upkeep).toEqual({ rig1: null, localhost: null });
  });

  it('resets no node that is out of service, and still resets one with only some GPUs excluded', () => {
    const nodes = [node('rig1', 2), node('rig2', 2), node('rig3', 2)];
    const sweep = new Sweep(planOf(barrier(nodes, 12, 6, 2, { reset: true, cooldownSeconds: 1 })))
      .inject(1, { type: 'exclude', selector: { node: 'rig2' } })
      .inject(1, { type: 'exclude', selector: { node: 'rig3', gpu: 0 } })
      .run();
    const reset = sweep.decided('resetNode').map(({ decision }) => decision.node.name);
    // Re-planned over two nodes, the sweep has more batches: at each boundary rig1 and rig3 reset.
    expect(reset.length).toBeGreaterThan(0);
    expect(reset.filter((name) => name === 'rig1')).toHaveLength(reset.length / 2);
    expect(reset.filter((name) => name === 'rig3')).toHaveLength(reset.length / 2);
  });

  it('once the upkeep is over, starts the next batch as soon as a node is back in service, without another round', () => {
    // Both rigs are excluded while batch 1 runs (0-10 s): no rig to reset; the cooldown ends at 13 s; rig1 is back at 20 s.
    const nodes = [node('rig1', 1), node('rig2', 1)];
    const sweep = new Sweep(planOf(barrier(nodes, 4, 2, 1, { reset: true, cooldownSeconds: 3 })))
      .inject(5000, { type: 'exclude', selector: { node: 'rig1' } })
      .inject(5000, { type: 'exclude', selector: { node: 'rig2' } })
      .inject(20_000, { type: 'readmit', selector: { node: 'rig1' } })
      .run();
    const before = <T extends { at: number }>(list: T[]) => list.filter(({ at }) => at < 20_000);
    expect(before(sweep.decided('resetNode'))).toEqual([]);
    expect(before(sweep.decided('coolingDown'))).toHaveLength(1);
    expect(batchTimes(sweep).get(2)!.firstStart).toBe(20_000);
    expect(sweep.decided('startJob')).toHaveLength(4);
  });
});
