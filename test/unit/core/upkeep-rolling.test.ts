/**
 * Rolling mode (docs/sweeps.md, "Rolling batches"): each node counts the jobs it starts; after
 * `max_jobs_per_node_per_batch` of them it starts nothing more until its jobs have ended, then the
 * rig resets (localhost has no allocator reset) and cools down on its own while the others keep
 * working; at most `max_jobs_per_batch` run at once; jobs are read in segments of 100, which drain
 * at their end — with no cluster-wide reset or cooldown there. Expectations come from each case's
 * numbers and the times the driver answered at.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { node, planOf, ranges, Sweep, timeline, type SweepShape } from './upkeep-sweep';

function rolling(nodes: SweepShape['nodes'], total: number, atOnce: number, cycle: number, more: Partial<SweepShape> = {}): SweepShape {
  return {
    nodes,
    totalJobs: total,
    batches: ranges(total, 100),
    perNodeCap: cycle,
    batching: { mode: 'rolling', max_jobs_per_batch: atOnce, max_jobs_per_node_per_batch: cycle },
    ...more,
  };
}

/** Each attempt's node, start and end. */
function attempts(sweep: Sweep) {
  const ended = new Map(sweep.heard('jobEnded').map(({ at, event }) => [event.work, at]));
  return sweep.decided('startJob').map(({ at, decision }) => ({ node: decision.node.name, from: at, to: ended.get(decision.work)!, decision }));
}

const shapes = fc.record({
  nodes: fc.uniqueArray(fc.record({ name: fc.constantFrom('localhost', 'rig1', 'rig2'), gpus: fc.integer({ min: 1, max: 3 }) }), {
    minLength: 1,
    maxLength: 3,
    selector: (n) => n.name,
  }),
  atOnce: fc.integer({ min: 1, max: 5 }),
  cycle: fc.integer({ min: 1, max: 3 }),
  total: fc.integer({ min: 6, max: 14 }),
  cooldown: fc.constantFrom(0, 3),
  reset: fc.boolean(),
  jobSeconds: fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 14, maxLength: 14 }),
});

describe('rolling upkeep, node by node', () => {
  it('drains a node after its cycle, resets a rig and cools it down before it starts again; at most max_jobs_per_batch at once', () => {
    fc.assert(
      fc.property(shapes, ({ nodes, atOnce, cycle, total, cooldown, reset, jobSeconds }) => {
        const sweep = new Sweep(
          planOf(
            rolling(
              nodes.map((n) => node(n.name, n.gpus)),
              Math.max(total, atOnce + 1),
              atOnce,
              cycle,
              { reset, cooldownSeconds: cooldown },
            ),
          ),
          {
            jobSeconds: (i) => jobSeconds[i],
          },
        ).run();
        const all = attempts(sweep);
        expect(sweep.state.phase).toBe('done');
        for (const a of all) expect(all.filter((b) => b.from <= a.from && a.from < b.to).length).toBeLessThanOrEqual(atOnce);
        expect(all.some((a) => a.decision.standby)).toBe(false);
        const resets = sweep.decided('resetNode');
        const answered = new Map(sweep.heard('nodeReset').map(({ at, event }) => [event.work, at]));
        for (const { name } of nodes) {
          const mine = all.filter((a) => a.node === name);
          const myResets = resets.filter(({ decision }) => decision.node.name === name);
          if (name === 'localhost' || !reset) expect(myResets).toEqual([]);
          for (const { at, decision } of myResets) {
            // Nothing of the node runs during its reset, and nothing starts there until its cooldown is over.
            const back = answered.get(decision.work)!;
            expect(decision.cooldownSeconds).toBe(cooldown);
            for (const a of mine) expect(a.to <= at || a.from >= back + cooldown * 1000).toBe(true);
          }
          for (let k = cycle; k < mine.length; k += cycle) {
            const drained = Math.max(...mine.slice(0, k).map((a) => a.to));
            const next = mine[k].from;
            expect(next).toBeGreaterThanOrEqual(drained + cooldown * 1000);
            const between = myResets.filter(({ at }) => at >= drained && at <= next);
            expect(between).toHaveLength(name === 'localhost' || !reset ? 0 : 1);
            for (const { decision } of between) expect(next).toBeGreaterThanOrEqual(answered.get(decision.work)! + cooldown * 1000);
          }
        }
      }),
      { numRuns: 25 },
    );
  });

  it('keeps the other nodes working while one cools down, and tells each node’s upkeep by its name', () => {
    // rig1 runs 1 s jobs, rig2 5 s jobs: rig1 finishes its cycle of 2 first and resets and cools down alone.
    const nodes = [node('rig1', 1), node('rig2', 1)];
    const sweep = new Sweep(planOf(rolling(nodes, 8, 4, 2, { reset: true, cooldownSeconds: 3 })), {
      jobSeconds: (i) => (i % 2 === 0 ? 1 : 5),
    }).run();
    const [first] = sweep.decided('resetNode');
    expect(first.decision.node.name).toBe('rig1');
    const back = sweep.heard('nodeReset')[0].at;
    const spans = timeline(sweep);
    expect(spans).toContainEqual({ kind: 'reset', batch: 1, node: 'rig1', start_ms: first.at, end_ms: back, ok: true });
    expect(spans).toContainEqual({ kind: 'cooldown', batch: 1, node: 'rig1', start_ms: back, end_ms: back + 3000 });
    expect(spans.filter((span) => span.kind === 'cooldown' && !('node' in span && span.node))).toEqual([]);
    expect(sweep.logged('cooldown')[0]).toMatchObject({ node: 'rig1', seconds: 3 });
    // While rig1 resets and cools down, it alone is shown so, and the sweep still runs.
    const from = sweep.trace.findIndex((step) => step.decisions.includes(first.decision));
    const cooling = sweep.trace.filter((step, i) => i > from && step.at > back && step.at < back + 3000);
    expect(cooling.length).toBeGreaterThan(0);
    for (const step of cooling) {
      expect(step.upkeep).toEqual({ rig1: 'cooling down', rig2: null });
      expect(step.phase).toBe('running');
    }
    expect(sweep.trace[from].upkeep).toEqual({ rig1: 'resetting', rig2: null });
    const rig2Ends = sweep.heard('jobEnded').filter(({ event }) => event.result.node === 'rig2');
    expect(rig2Ends.some(({ at }) => at > first.at && at < back + 3000)).toBe(true);
    // Every reset went well: nothing to warn about.
    expect(sweep.state.warnings).toEqual([]);
  });

  it('a failed reset of a node is logged and warned about, and the node works on', () => {
    const nodes = [node('rig1', 1)];
    const sweep = new Sweep(planOf(rolling(nodes, 4, 2, 2, { reset: true, cooldownSeconds: 1 })), {
      resetOutcome: () => ({ ok: false, message: 'no allocator' }),
    }).run();
    expect(sweep.logged('reset').map(({ node, ok, message }) => ({ node, ok, message }))).toEqual([{ node: 'rig1', ok: false, message: 'no allocator' }]);
    // Saying whose reset, after how many jobs of its cycle.
    expect(sweep.state.warnings).toHaveLength(1);
    expect(sweep.state.warnings[0]).toMatch(/rig1 after 2 jobs/);
    expect(timeline(sweep).filter((span) => span.kind === 'reset')).toMatchObject([{ node: 'rig1', ok: false }]);
    expect(sweep.decided('startJob')).toHaveLength(4);
  });

  it('reads the list in segments of 100 that drain at their end, with no cluster-wide reset or cooldown there', () => {
    // Cycles of two 1 s jobs: a node is still resetting or cooling down when the first segment's last job ends.
    const nodes = [node('rig1', 1), node('rig2', 1)];
    const sweep = new Sweep(planOf(rolling(nodes, 130, 4, 2, { reset: true, cooldownSeconds: 2 })), { jobSeconds: () => 1 }).run();
    const loads = sweep.decided('loadJobs');
    expect(loads.map(({ decision }) => [decision.start, decision.end])).toEqual([
      [0, 100],
      [100, 130],
    ]);
    const all = attempts(sweep);
    expect(all).toHaveLength(130);
    const firstSegment = all.filter((a) => Number(a.decision.job.job_id.slice(1)) < 100);
    const second = loads[1].at;
    const lastEnd = Math.max(...firstSegment.map((a) => a.to));
    expect(second).toBeGreaterThanOrEqual(lastEnd);
    // Nor while a node still resets or cools down from its cycle.
    const answered = new Map(sweep.heard('nodeReset').map(({ at, event }) => [event.work, at]));
    const upkeeps = sweep.decided('resetNode').map(({ at, decision }) => ({ from: at, to: answered.get(decision.work)! + 2000 }));
    expect(upkeeps.some(({ from, to }) => from <= lastEnd && lastEnd < to)).toBe(true);
    const reading = sweep.trace.find((step) => step.decisions.includes(loads[1].decision))!;
    expect(reading.upkeep).toEqual({ rig1: null, rig2: null });
    // Every reset is a node's own: the node had run a whole cycle since its last one.
    expect(timeline(sweep).filter((span) => span.kind === 'cooldown' && span.node === undefined)).toEqual([]);
    // A node's reset in the second segment is shown in it.
    const inSecond = sweep.decided('resetNode').filter(({ at }) => at > second);
    expect(inSecond.length).toBeGreaterThan(0);
    const spans = timeline(sweep).filter((span) => span.kind === 'reset');
    for (const { at } of inSecond) expect(spans.find((span) => span.start_ms === at)).toMatchObject({ batch: 2 });
    expect(sweep.decided('coolingDown')).toHaveLength(sweep.decided('resetNode').length);
  });

  it('probes the nodes at each segment boundary, and stops after a segment that failed above max_fail_percentage', () => {
    const nodes = [node('rig1', 2), node('rig2', 2)];
    const health = { probe_before_batch: true, on_failure: 'redistribute' as const, quarantine_after: 3, wait_seconds: 5 };
    const probed = new Sweep(planOf(rolling(nodes, 130, 3, 50, { nodeHealth: health })), { jobSeconds: () => 1 }).run();
    expect(
      probed
        .decided('probeNode')
        .map(({ decision }) => decision.node.name)
        .sort(),
    ).toEqual(['rig1', 'rig2']);
    const stopped = new Sweep(
      planOf(rolling(nodes, 130, 3, 50, { batching: { mode: 'rolling', max_jobs_per_batch: 3, max_jobs_per_node_per_batch: 50, max_fail_percentage: 10 } })),
      {
        jobSeconds: () => 1,
        failsFirst: (i) => i % 4 === 0,
      },
    ).run();
    expect(stopped.decided('loadJobs')).toHaveLength(1);
    expect(stopped.state.stoppedReason).not.toBeNull();
  });

  it('a node starts again once its own reset and cooldown are over, whatever another node’s reset takes', () => {
    // Both finish their cycle of two 1 s jobs at 2 s; rig1's reset takes 1 s, rig2's 4 s; 2 s cooldown.
    const nodes = [node('rig1', 1), node('rig2', 1)];
    const sweep = new Sweep(planOf(rolling(nodes, 8, 4, 2, { reset: true, cooldownSeconds: 2 })), {
      jobSeconds: () => 1,
      resetSeconds: (name) => (name === 'rig1' ? 1 : 4),
    }).run();
    const third = (name: string) => attempts(sweep).filter((a) => a.node === name)[2].from;
    expect(third('rig1')).toBe(2000 + 1000 + 2000);
    expect(third('rig2')).toBe(2000 + 4000 + 2000);
  });

  it('a pause lets the segment run on: nodes finish their own upkeep and start again, and the sweep shows paused only once it has drained', () => {
    const nodes = [node('rig1', 1), node('rig2', 1)];
    const sweep = new Sweep(planOf(rolling(nodes, 130, 4, 2, { reset: true, cooldownSeconds: 2 })), { jobSeconds: () => 1 })
      .inject(3500, { type: 'pause' })
      .inject(400_000, { type: 'resume' })
      .run();
    const all = attempts(sweep);
    const firstSegment = all.filter((a) => Number(a.decision.job.job_id.slice(1)) < 100);
    expect(firstSegment).toHaveLength(100);
    const drained = Math.max(...firstSegment.map((a) => a.to));
    for (const step of sweep.trace.filter((s) => s.at < drained)) expect(step.phase).not.toBe('paused');
    expect(all.filter((a) => a.from > drained && a.from < 400_000)).toEqual([]);
    expect(all).toHaveLength(130);
  });
});
