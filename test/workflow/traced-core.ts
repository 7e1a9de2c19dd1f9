/**
 * The dispatcher core as the workflow tier's replays see it: the real `decide`, and every step —
 * the event, the workflow's own clock, the decisions, the running count users see — handed to a
 * sink that is called during replay too. Bundled in place of the core only for the replays of
 * test/workflow/trace.ts; the workers that run the sweeps run the production bundle.
 */
import { proxySinks, type Sinks } from '@temporalio/workflow';
import { decide as coreDecide } from '../../src/shared/dispatch/core';
import type { Decision } from '../../src/shared/dispatch/decisions';
import type { SweepEvent } from '../../src/shared/dispatch/events';
import type { BatchPolicy } from '../../src/shared/dispatch/policies/policy';
import type { SweepState } from '../../src/shared/dispatch/state';
import { progressOf } from '../../src/shared/dispatch/view';

export interface TraceSinks extends Sinks {
  trace: { step(event: SweepEvent, now: number, decisions: Decision[], running: number): void };
}

const { trace } = proxySinks<TraceSinks>();

/** Copies what the sink gets: the core may change its inputs later, and sinks run after the activation. */
const copy = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

export function decide(state: SweepState, event: SweepEvent, now: number, policy?: BatchPolicy): Decision[] {
  const heard = copy(event);
  const decisions = coreDecide(state, event, now, policy);
  trace.step(heard, now, copy(decisions), progressOf(state).running);
  return decisions;
}
