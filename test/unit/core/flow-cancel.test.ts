/**
 * A cancel before the sweep has its plan: nothing ran, nothing to record, so the sweep ends at once
 * as cancelled, without a Results JSON (decisions.ts, `sweepOver`). The oracle judges the steps as
 * in the core tier; the expectations here say what the steps must end with.
 */
import { describe, expect, it } from 'vitest';
import { decide } from '../../../src/shared/dispatch/core';
import type { SweepEvent } from '../../../src/shared/dispatch/events';
import { initialState } from '../../../src/shared/dispatch/init';
import { DecisionChecker } from '../../sim/invariants';
import { SweepOracle } from '../../sim/oracle';
import type { Scenario } from '../../sim/scenario';

const scenario: Pick<Scenario, 'nodes' | 'batching' | 'preflight' | 'nodeHealth' | 'retryBackoffSeconds'> = {
  nodes: [{ name: 'rig1', gpus: 2, maxConcurrent: 2, stagger: 0, local: false, warmup: false, health: false }],
  batching: {
    enabled: false,
    mode: 'barrier',
    max_jobs_per_batch: 10,
    max_jobs_per_node_per_batch: 10,
    inter_batch_cooldown_seconds: 0,
    allocator_reset_between_batches: false,
  },
  preflight: { enabled: false, required: false },
  nodeHealth: { probe_before_batch: false, on_failure: 'redistribute', quarantine_after: 3 },
  retryBackoffSeconds: 1,
};

function sweep() {
  const state = initialState(0);
  const checker = new DecisionChecker('a', new SweepOracle({ sweep: 'a', scenario, jobCount: 3, maxRetries: 0 }));
  return (event: SweepEvent, now: number) => {
    const decisions = decide(state, event, now);
    checker.afterStep(state, event, decisions, now);
    return decisions;
  };
}

describe('a cancel before the plan', () => {
  it('ends the sweep at once as cancelled, without results', () => {
    const step = sweep();
    expect(step({ type: 'cancel' }, 5)).toEqual([{ type: 'sweepOver', results: null, cancelled: true }]);
    // Over is over: a late event (a timer the driver had set) decides nothing.
    expect(step({ type: 'timerFired' }, 10)).toEqual([]);
  });

  it('asks for nothing more while the planning under way has not answered', () => {
    const step = sweep();
    const [plan] = step({ type: 'begin' }, 0);
    expect(plan.type).toBe('plan');
    expect(step({ type: 'cancel' }, 1)).toEqual([]);
  });

  it('plans once, whatever else is heard while planning', () => {
    const step = sweep();
    step({ type: 'begin' }, 0);
    expect(step({ type: 'pause' }, 1)).toEqual([]);
  });
});
