/**
 * Pause and cancel around upkeep (docs/operating.md; docs/sweeps.md, "A cancel works the same in
 * every phase"): a pause holds the next batch — no reset, cooldown or batch until resume — and is
 * shown as the sweep's phase and a timeline span; a pause that comes during the reset, cooldown or
 * probes holds the batch once they are over, and the cluster still cools down in full before the
 * batch. A cancel starts nothing new on the nodes: no cooldown, probe or job after it.
 * Expectations come from the injected times and each case's numbers.
 */
import { describe, expect, it } from 'vitest';
import { progressOf } from '../../../src/shared/dispatch/view';
import { barrier, batchTimes, node, planOf, ranges, Sweep, timeline } from './upkeep-sweep';

/** Two one-GPU rigs, two batches of two 10 s jobs; the rigs reset (1 s) and cool down 3 s between them. */
const twoBatches = () => planOf(barrier([node('rig1', 1), node('rig2', 1)], 4, 2, 1, { reset: true, cooldownSeconds: 3 }));

describe('a pause between batches', () => {
  it('holds the reset, the cooldown and the next batch until resume, shown as paused from the batch’s end', () => {
    // Batch 1 runs 0-10 s; paused at 1 s, resumed at 30 s; a timer fires in between.
    const sweep = new Sweep(twoBatches()).inject(1000, { type: 'pause' }).inject(20_000, { type: 'timerFired' }).inject(30_000, { type: 'resume' }).run();
    for (const { at } of sweep.decided('resetNode')) expect(at).toBe(30_000);
    expect(sweep.decided('resetNode')).toHaveLength(2);
    expect(batchTimes(sweep).get(2)!.firstStart).toBe(30_000 + 1000 + 3000);
    const held = sweep.trace.filter((step) => step.at > 10_000 && step.at < 30_000);
    expect(held.length).toBeGreaterThan(0);
    for (const step of held) expect(step.phase).toBe('paused');
    expect(timeline(sweep).filter((span) => span.kind === 'pause')).toEqual([{ kind: 'pause', batch: 2, start_ms: 10_000, end_ms: 30_000 }]);
  });

  it('after a pause that came during the cooldown, waits for resume and cools down in full again before the batch', () => {
    // The reset is back at 11 s; the cooldown would end at 14 s; the pause comes at 12 s, resume at 20 s.
    const sweep = new Sweep(twoBatches()).inject(12_000, { type: 'pause' }).inject(20_000, { type: 'resume' }).run();
    expect(batchTimes(sweep).get(2)!.firstStart).toBeGreaterThanOrEqual(20_000 + 3000);
    const spans = timeline(sweep);
    // The cooldown under way ran to its end; the sweep waited from then until resume.
    expect(spans).toContainEqual({ kind: 'cooldown', batch: 2, start_ms: 11_000, end_ms: 14_000 });
    expect(spans.filter((span) => span.kind === 'pause')).toEqual([{ kind: 'pause', batch: 2, start_ms: 14_000, end_ms: 20_000 }]);
    for (const step of sweep.trace.filter((s) => s.at > 14_000 && s.at < 20_000)) expect(step.phase).toBe('paused');
  });

  it('after a pause that came during the reset, lets the reset and cooldown under way end, then waits for resume', () => {
    // The resets run 10-11 s; the pause comes at 10.5 s, resume at 20 s.
    const sweep = new Sweep(twoBatches()).inject(10_500, { type: 'pause' }).inject(20_000, { type: 'resume' }).run();
    const spans = timeline(sweep);
    expect(spans).toContainEqual({ kind: 'cooldown', batch: 2, start_ms: 11_000, end_ms: 14_000 });
    expect(spans.filter((span) => span.kind === 'pause')).toEqual([{ kind: 'pause', batch: 2, start_ms: 14_000, end_ms: 20_000 }]);
    expect(batchTimes(sweep).get(2)!.firstStart).toBeGreaterThanOrEqual(20_000 + 3000);
  });

  it('without a pause there is no pause span, and the sweep is never shown paused', () => {
    const sweep = new Sweep(twoBatches()).run();
    expect(timeline(sweep).filter((span) => span.kind === 'pause')).toEqual([]);
    expect(sweep.trace.some((step) => step.phase === 'paused')).toBe(false);
  });
});

describe('a cancel during upkeep', () => {
  it('stops a reset under way and starts no cooldown, probe or job after it', () => {
    const health = { probe_before_batch: true, on_failure: 'redistribute' as const, quarantine_after: 3, wait_seconds: 5 };
    const plan = planOf(barrier([node('rig1', 1), node('rig2', 1)], 4, 2, 1, { reset: true, cooldownSeconds: 3, nodeHealth: health }));
    // The resets hang on the rigs; the cancel comes at 15 s.
    const sweep = new Sweep(plan, { resetHangs: true }).inject(15_000, { type: 'cancel' }).run();
    const resets = sweep.decided('resetNode').map(({ decision }) => decision.work);
    expect(resets).toHaveLength(2);
    expect(
      sweep
        .decided('cancelWork')
        .map(({ decision }) => decision.work)
        .sort(),
    ).toEqual([...resets].sort());
    const after = sweep.trace.filter((step) => step.at >= 15_000).flatMap((step) => step.decisions.map((d) => d.type));
    for (const type of ['coolingDown', 'probeNode', 'startJob', 'loadJobs', 'resetNode'] as const) expect(after).not.toContain(type);
    expect(sweep.decided('sweepOver')).toMatchObject([{ decision: { cancelled: true } }]);
  });

  it('shows a rig no longer resetting as soon as its reset is stopped, while another is still being stopped', () => {
    // The resets (from 10 s) hang on the rigs; the cancel comes at 15 s and stops them one after the other.
    const sweep = new Sweep(twoBatches(), { resetHangs: true }).inject(15_000, { type: 'cancel' }).run();
    const resetOf = new Map(sweep.decided('resetNode').map(({ decision }) => [decision.work, decision.node.name]));
    expect(sweep.trace.filter((step) => step.at < 15_000).at(-1)!.upkeep).toEqual({ rig1: 'resetting', rig2: 'resetting' });
    const stopped = sweep.trace.filter((step) => step.event.type === 'workCancelled');
    const stoppedNodes = stopped.map(({ event }) => resetOf.get((event as { work: number }).work)!);
    expect([...stoppedNodes].sort()).toEqual(['rig1', 'rig2']);
    // Between the two, a status shows the first rig stopped back to ok and the other still resetting.
    const [first, second] = stoppedNodes;
    expect(stopped[0].upkeep).toEqual({ [first]: null, [second]: 'resetting' });
    expect(progressOf(sweep.state).nodes.map(({ state }) => state)).toEqual(['ok', 'ok']);
    expect(sweep.decided('sweepOver')).toMatchObject([{ decision: { cancelled: true } }]);
  });

  it('in rolling mode, a node whose reset comes back just after the cancel does not cool down or start again', () => {
    const plan = planOf({
      nodes: [node('rig1', 1)],
      totalJobs: 6,
      batches: ranges(6, 100),
      perNodeCap: 2,
      batching: { mode: 'rolling', max_jobs_per_batch: 2, max_jobs_per_node_per_batch: 2 },
      reset: true,
      cooldownSeconds: 3,
    });
    // Jobs of 10 s: the cycle of two ends at 20 s, the reset runs 20-21 s; the cancel lands as it comes back.
    const sweep = new Sweep(plan).inject(21_000, { type: 'cancel' }).run();
    expect(sweep.heard('nodeReset').map(({ at }) => at)).toEqual([21_000]);
    const after = sweep.trace.filter((step) => step.at >= 21_000).flatMap((step) => step.decisions.map((d) => d.type));
    for (const type of ['coolingDown', 'startJob', 'resetNode'] as const) expect(after).not.toContain(type);
    expect(sweep.logged('cooldown')).toEqual([]);
    expect(sweep.decided('sweepOver')).toMatchObject([{ decision: { cancelled: true } }]);
  });
});
