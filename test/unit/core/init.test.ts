/**
 * Where a sweep's state begins (docs/dispatcher-core.md): before it is planned nothing runs and
 * nothing is known; once pre-flight is over, nodes it could not reach are left out, batches are
 * planned again over the rest, and the operators' numbers start from the plan's; a continued run
 * carries the state on with no timer of the run before, and a bounded log and warnings.
 */
import { describe, expect, it } from 'vitest';
import { jobBatchingSchema } from '../../../src/shared/config';
import { enterService, initialState, resumeState, sweepNameOf, takePlan } from '../../../src/shared/dispatch/init';
import { CARRIED_EVENTS, MAX_CARRIED_WARNINGS, type PlannedState } from '../../../src/shared/dispatch/state';
import { Step } from '../../../src/shared/dispatch/step';
import type { JobSource } from '../../../src/shared/sweep-plan';
import { node, plan, plannedState } from './sweep-fixtures';

describe('initialState', () => {
  it('is a sweep still planning, started at the given time, with nothing begun, known or asked for', () => {
    const state = initialState(1234);
    expect(state).toMatchObject({ phase: 'planning', sweepName: '', startedAtMs: 1234, plan: null, settings: null, batch: null, shown: null, between: null });
    expect(state.steering).toEqual({ pauseRequested: false, excluded: {}, leftOut: {}, probeFailures: {}, quarantined: {}, replanNeeded: false });
    for (const list of [state.allNodes, state.queue, state.unrecorded, state.timeline, state.log.events, state.warnings, state.preflight, state.cancelling])
      expect(list).toEqual([]);
    expect(state.counts).toEqual({ done: 0, failed: 0, retries: 0, running: 0 });
    expect(state.log.seq).toBe(0);
    expect([state.runDue, state.cancelled, state.over]).toEqual([false, false, false]);
  });
});

describe('sweepNameOf and takePlan', () => {
  it('names a sweep by its jobs file without the .json, else by how its jobs were given', () => {
    const named = (jobSource: JobSource) => sweepNameOf(plan([node('rig', 1)], 1, { jobSource }));
    expect(named({ kind: 'file', path: '/data/sweeps/scorer_grid.json', digest: 'd' })).toBe('scorer_grid');
    expect(named({ kind: 'file', path: 'Grid.JSON', digest: 'd' })).toBe('Grid');
    expect(named({ kind: 'file', path: '/data/jobs.json.bak', digest: 'd' })).toBe('jobs.json.bak');
    expect(named({ kind: 'file', path: '/data/jobs', digest: 'd' })).toBe('jobs');
    expect(named({ kind: 'inline' })).toBe('inline');
    expect(named({ kind: 'trials', command: 'python t.py', timeout: 60 })).toBe('trials');
  });

  it('takes every node of the plan, none left out yet', () => {
    const state = initialState(0);
    const sweepPlan = plan([node('a', 2), node('b', 1)], 5, { jobSource: { kind: 'file', path: 'x/grid.json', digest: 'd' } });
    takePlan(state, sweepPlan);
    expect(state.sweepName).toBe('grid');
    expect(state.allNodes).toEqual(sweepPlan.nodes);
    expect(Object.keys(state.nodes)).toEqual(['a', 'b']);
    expect(state.nodes.a).toMatchObject({ leftOutByPreflight: false, firstStarts: 0, done: 0, lanes: { free: [0, 1], seats: {}, busyOrder: [] } });
  });
});

describe('enterService', () => {
  const batching = jobBatchingSchema.parse({ max_jobs_per_batch: 4, max_jobs_per_node_per_batch: 2, inter_batch_cooldown_seconds: 7 });
  const nodes = [node('a', 2, { staggerSeconds: 1.5 }), node('b', 2), node('c', 2, { staggerSeconds: 3 })];
  // Planned by hand for three nodes: batches of 4 (the per-batch cap; three nodes may take 6).
  const threeNodes = [0, 1, 2].map((index) => ({ index, start: index * 4, end: Math.min(10, index * 4 + 4) }));

  function preflightOver(reachable: typeof nodes): PlannedState {
    const state: PlannedState = {
      ...plannedState(plan(nodes, 10, { batching, batches: threeNodes, perNodeCap: 2, resetBetweenBatches: true, cooldownSeconds: 7 })),
      phase: 'pre-flight',
      preflightStage: 'warm-ups',
    };
    enterService(new Step(state, 0), reachable);
    return state;
  }

  it('keeps the plan as it was when every node was reached, and starts the numbers from it', () => {
    const state = preflightOver(nodes);
    expect(state.plan.nodes).toEqual(nodes);
    expect(state.plan.batches).toEqual(threeNodes);
    // Even batches today's planner would make otherwise (a plan carried in a sweep's history from
    // an earlier version, say): a sweep replayed from its history must begin the batches it began.
    const older = [0, 1, 2, 3].map((index) => ({ index, start: index * 3, end: Math.min(10, index * 3 + 3) }));
    const carried: PlannedState = { ...plannedState(plan(nodes, 10, { batching, batches: older, perNodeCap: 2 })), phase: 'pre-flight' };
    enterService(new Step(carried, 0), nodes);
    expect(carried.plan.batches).toEqual(older);
    expect(Object.values(state.nodes).map((runtime) => runtime.leftOutByPreflight)).toEqual([false, false, false]);
    expect(state.settings).toEqual({
      max_jobs_per_batch: 4,
      max_jobs_per_node_per_batch: 2,
      inter_batch_cooldown_seconds: 7,
      stagger_delay: { a: 1.5, b: 0, c: 3 },
    });
    expect(state).toMatchObject({ phase: 'running', preflightStage: 'done', batchCount: 3 });
  });

  it('leaves out the nodes it could not reach and plans the batches again over the rest', () => {
    const state = preflightOver([nodes[0]]);
    expect(state.nodes.a.leftOutByPreflight).toBe(false);
    expect(state.nodes.b.leftOutByPreflight).toBe(true);
    expect(state.nodes.c.leftOutByPreflight).toBe(true);
    expect(state.plan.nodes).toEqual([nodes[0]]);
    // One node takes at most 2 jobs a batch: 10 jobs are 5 batches of 2.
    expect(state.plan.batches.map((batch) => batch.end - batch.start)).toEqual([2, 2, 2, 2, 2]);
    expect(state.plan.totalJobs).toBe(10);
    expect(state.settings?.stagger_delay).toEqual({ a: 1.5 });
    expect(state).toMatchObject({ phase: 'running', preflightStage: 'done', batchCount: 5 });
  });
});

describe('resumeState', () => {
  it('clears the clock and the due flag, keeps the latest events and warnings, and the rest as it was', () => {
    const carried = plannedState(plan([node('a', 1)], 3));
    const events = CARRIED_EVENTS + 30;
    const warnings = MAX_CARRIED_WARNINGS + 5;
    carried.log = { events: Array.from({ length: events }, (_, i) => ({ kind: 'note', text: `e${i}`, seq: i + 1 }) as never), seq: events };
    carried.warnings = Array.from({ length: warnings }, (_, i) => `w${i}`);
    Object.assign(carried, { runDue: true, timerAtMs: 99, cursor: 3, counts: { done: 2, failed: 1, retries: 1, running: 0 } });
    const resumed = resumeState(carried);
    expect(resumed).toMatchObject({ runDue: false, timerAtMs: null, cursor: 3, counts: { done: 2, failed: 1, retries: 1, running: 0 } });
    expect(resumed.log.seq).toBe(events);
    expect(resumed.log.events).toHaveLength(CARRIED_EVENTS);
    expect(resumed.log.events[0].seq).toBe(31);
    expect(resumed.log.events.at(-1)?.seq).toBe(events);
    expect(resumed.warnings).toHaveLength(MAX_CARRIED_WARNINGS);
    expect(resumed.warnings[0]).toBe('w5');
    expect(resumed.warnings.at(-1)).toBe(`w${warnings - 1}`);
  });

  it('keeps a short log and few warnings whole', () => {
    const carried = plannedState(plan([node('a', 1)], 3));
    carried.warnings = ['only one'];
    expect(resumeState(carried).warnings).toEqual(['only one']);
  });
});
