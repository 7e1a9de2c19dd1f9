/**
 * The batching modes' policies (src/shared/dispatch/policies), each held to what docs/sweeps.md
 * and the BatchPolicy contract promise, on states built by hand:
 * - barrier: batches as the plan cut them while nothing changed; once operators' numbers or nodes
 *   changed, the rest is cut from the numbers in force over the nodes in service, leftover first
 *   attempts counted in; at most the per-node cap of first attempts a node, retries free.
 * - rolling: segments of 100; at most `max_jobs_per_batch` running at once; a node's upkeep due
 *   after its cycle, never the cluster's.
 * - unbatched: one batch to its users, fed in segments, no caps, no upkeep of its own.
 * Expected values come from the numbers each case gives.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { barrierBatchSize, barrierPolicy } from '../../../src/shared/dispatch/policies/barrier';
import { rollingPolicy } from '../../../src/shared/dispatch/policies/rolling';
import { segmentsLeft } from '../../../src/shared/dispatch/policies/segments';
import { unbatchedPolicy } from '../../../src/shared/dispatch/policies/unbatched';
import { initialState } from '../../../src/shared/dispatch/init';
import type { NodeRuntime, QueuedJob, ServingState } from '../../../src/shared/dispatch/state';
import type { BatchRange } from '../../../src/shared/sweep-plan';
import { node, planOf } from './upkeep-sweep';

interface Situation {
  batches?: BatchRange[];
  totalJobs?: number;
  planCap?: number;
  maxBatch?: number;
  maxNode?: number;
  nodes?: number;
  begun?: number;
  cursor?: number;
  replan?: boolean;
  /** Attempt numbers of the queued jobs. */
  queued?: number[];
  running?: number;
  excluded?: string[];
}

/** A sweep in service, as a policy sees it between or inside batches. */
function situation(s: Situation): ServingState {
  const nodes = Array.from({ length: s.nodes ?? 2 }, (_, i) => node(`rig${i + 1}`, 4));
  const totalJobs = s.totalJobs ?? 10;
  const plan = planOf({ nodes, totalJobs, batches: s.batches ?? [], perNodeCap: s.planCap ?? 3, batching: {} });
  const runtime = (): NodeRuntime => ({ firstStarts: 0, cycleStarts: 0 }) as NodeRuntime;
  const queue = (s.queued ?? []).map((attempt, i): QueuedJob => ({
    job: { kind: 'trial', job_id: `q${i}`, trial: i, command: 'x', timeout: 1 },
    attempt,
    previous: [],
  }));
  return {
    ...initialState(0),
    plan,
    allNodes: nodes,
    settings: { max_jobs_per_batch: s.maxBatch ?? 6, max_jobs_per_node_per_batch: s.maxNode ?? 3, inter_batch_cooldown_seconds: 0, stagger_delay: {} },
    steering: {
      pauseRequested: false,
      excluded: Object.fromEntries((s.excluded ?? []).map((name) => [name, 'all' as const])),
      leftOut: {},
      probeFailures: {},
      quarantined: {},
      replanNeeded: s.replan ?? false,
    },
    nodes: Object.fromEntries(nodes.map((n) => [n.name, runtime()])),
    batchesBegun: s.begun ?? 0,
    cursor: s.cursor ?? 0,
    queue,
    counts: { done: 0, failed: 0, retries: 0, running: s.running ?? 0 },
  };
}

/** An uneven plan no live cut would make: 3 jobs, then 7. */
const uneven: BatchRange[] = [
  { index: 0, start: 0, end: 3 },
  { index: 1, start: 3, end: 10 },
];

describe('barrier', () => {
  it('sizes a batch at most max_jobs_per_batch and at most every node’s cap added up (one node at least)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1, max: 10 }), fc.integer({ min: 0, max: 6 }), (perBatch, perNode, nodes) => {
        const size = barrierBatchSize(perBatch, perNode, nodes);
        const room = perNode * Math.max(1, nodes);
        expect(size).toBeLessThanOrEqual(perBatch);
        expect(size).toBeLessThanOrEqual(room);
        // The largest such: one of the two limits is reached.
        expect(size === perBatch || size === room).toBe(true);
      }),
    );
    expect(
      barrierPolicy.plannedBatchSize(
        {
          enabled: true,
          mode: 'barrier',
          max_jobs_per_batch: 20,
          max_jobs_per_node_per_batch: 6,
          inter_batch_cooldown_seconds: 0,
          allocator_reset_between_batches: false,
        },
        3,
      ),
    ).toBe(18);
  });

  it('begins the batches as planned while nothing changed: their sizes, the plan’s cap, their count', () => {
    expect(barrierPolicy.nextBatch(situation({ batches: uneven, planCap: 2, maxNode: 3 }))).toEqual({ load: 3, perNodeCap: 2 });
    expect(barrierPolicy.nextBatch(situation({ batches: uneven, planCap: 2, maxNode: 3, begun: 1, cursor: 3 }))).toEqual({ load: 7, perNodeCap: 2 });
    expect(barrierPolicy.batchCount(situation({ batches: uneven, maxBatch: 3, begun: 1, cursor: 3 }))).toBe(2);
    expect(barrierPolicy.batchCount(situation({ batches: uneven, maxBatch: 3 }))).toBe(2);
  });

  it('cuts the rest from the numbers in force over the nodes in service once something changed, leftover first attempts counted in', () => {
    // 10 jobs, 3 read; 6 a batch, 3 a node, over two nodes: 6 a batch; then over one node: 3.
    const changed = { batches: uneven, planCap: 2, begun: 1, cursor: 3, replan: true };
    expect(barrierPolicy.nextBatch(situation(changed))).toEqual({ load: 6, perNodeCap: 3 });
    expect(barrierPolicy.nextBatch(situation({ ...changed, excluded: ['rig2'] }))).toEqual({ load: 3, perNodeCap: 3 });
    // Two first attempts left over take two places; a retry takes none.
    expect(barrierPolicy.nextBatch(situation({ ...changed, queued: [1, 2, 1] }))).toEqual({ load: 4, perNodeCap: 3 });
    // Leftovers even without a change, or a list read elsewhere than the plan's next batch: cut live too.
    expect(barrierPolicy.nextBatch(situation({ batches: uneven, planCap: 2, queued: [1] }))).toEqual({ load: 5, perNodeCap: 3 });
    expect(barrierPolicy.nextBatch(situation({ batches: uneven, planCap: 2, cursor: 2, begun: 1 }))).toEqual({ load: 6, perNodeCap: 3 });
    // Past the planned batches, and never more than the jobs left, nor less than none.
    expect(barrierPolicy.nextBatch(situation({ batches: uneven, begun: 2, cursor: 8 }))).toEqual({ load: 2, perNodeCap: 3 });
    expect(barrierPolicy.batchCount(situation({ batches: uneven, begun: 2, cursor: 8 }))).toBe(2 + 1);
    expect(barrierPolicy.nextBatch(situation({ ...changed, queued: [1, 1, 1, 1, 1, 1, 1] }))).toEqual({ load: 0, perNodeCap: 3 });
    // Count: the batches begun, and the jobs left over the live size, rounded up.
    expect(barrierPolicy.batchCount(situation({ ...changed, maxBatch: 3 }))).toBe(1 + 3);
    expect(barrierPolicy.batchCount(situation({ ...changed, begun: 3, cursor: 3, maxBatch: 4 }))).toBe(3 + 2);
  });

  it('lets a node start first attempts only below the batch’s cap, and retries always', () => {
    const state = situation({});
    state.batch = { index: 0, number: 1, perNodeCap: 2, startedAtMs: 0 };
    for (const [starts, first, may] of [
      [0, true, true],
      [1, true, true],
      [2, true, false],
      [5, false, true],
    ] as const) {
      state.nodes.rig1.firstStarts = starts;
      expect(barrierPolicy.mayStart(state, 'rig1', first)).toBe(may);
    }
    state.batch.perNodeCap = null;
    expect(barrierPolicy.mayStart(state, 'rig1', true)).toBe(true);
    state.batch = null;
    expect(barrierPolicy.mayStart(state, 'rig1', true)).toBe(true);
    expect(barrierPolicy.batchNumber(4)).toBe(5);
  });
});

describe('rolling', () => {
  it('reads segments of 100, counts them as batches, and caps only what runs at once', () => {
    expect(rollingPolicy.nextBatch(situation({ totalJobs: 250, cursor: 100 }))).toEqual({ load: 100, perNodeCap: null });
    expect(rollingPolicy.nextBatch(situation({ totalJobs: 250, cursor: 200 }))).toEqual({ load: 50, perNodeCap: null });
    expect(rollingPolicy.batchCount(situation({ totalJobs: 250, cursor: 100, begun: 1 }))).toBe(1 + 2);
    expect(rollingPolicy.batchNumber(2)).toBe(3);
    expect(rollingPolicy.plannedBatchSize({} as never, 3)).toBe(100);
    for (let running = 0; running <= 8; running++)
      expect(rollingPolicy.mayStart(situation({ maxBatch: 6, running }), 'rig1', running % 2 === 0)).toBe(running < 6);
  });

  it('has a node’s upkeep due once it started max_jobs_per_node_per_batch jobs, and never the cluster’s', () => {
    const state = situation({ maxNode: 3 });
    for (const starts of [0, 2, 3, 4]) {
      state.nodes.rig1.cycleStarts = starts;
      expect(rollingPolicy.upkeepDue(state, 'rig1')).toBe(starts >= 3);
      expect(rollingPolicy.upkeepDue(state)).toBe(false);
    }
    expect(rollingPolicy.upkeepScope).toBe('node');
  });
});

describe('unbatched', () => {
  it('is one batch to its users, read 100 at a time, with no cap and no upkeep of its own', () => {
    expect(unbatchedPolicy.nextBatch(situation({ totalJobs: 130 }))).toEqual({ load: 100, perNodeCap: null });
    expect(unbatchedPolicy.nextBatch(situation({ totalJobs: 130, cursor: 100 }))).toEqual({ load: 30, perNodeCap: null });
    const later = situation({ totalJobs: 330, begun: 2, cursor: 200, running: 99 });
    expect([unbatchedPolicy.batchNumber(2), unbatchedPolicy.batchCount(later)]).toEqual([1, 1]);
    expect(unbatchedPolicy.mayStart(later, 'rig1', true)).toBe(true);
    expect([unbatchedPolicy.upkeepDue(later), unbatchedPolicy.upkeepDue(later, 'rig1')]).toEqual([false, false]);
    expect(unbatchedPolicy.upkeepScope).toBe('none');
  });
});

describe('segments', () => {
  it('counts the segments of 100 still to come, a part one included', () => {
    for (const [left, segments] of [
      [0, 0],
      [1, 1],
      [100, 1],
      [101, 2],
      [250, 3],
    ])
      expect(segmentsLeft(situation({ totalJobs: 300, cursor: 300 - left }))).toBe(segments);
  });
});
