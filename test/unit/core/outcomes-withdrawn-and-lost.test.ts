/**
 * The rarer ends of an attempt (docs/sweeps.md; docs/dispatcher-core.md): a standby taken back
 * comes back first in line as the same attempt (its first start no longer counted against its
 * node's cap), except on a cancel; an attempt that ends without reporting its start times its
 * node's next start from its end; a node lost past the job's lease is left out and probed again
 * soon; an attempt whose activity failed for good is an `SSH_ERROR` when the node could not be
 * reached or refused us, else an `EXECUTION_ERROR`, and is final either way.
 */
import { describe, expect, it } from 'vitest';
import { attemptOver, failedDispatchResult, leaveOutLostNode } from '../../../src/shared/dispatch/outcomes';
import type { JobWork, PlannedState } from '../../../src/shared/dispatch/state';
import { Step } from '../../../src/shared/dispatch/step';
import { attemptWork, job, node, plan, plannedState, resultOf } from './sweep-fixtures';

const NOW = 2_000_000;

function sweep(): Step<PlannedState> {
  return new Step(plannedState(plan([node('rig', 2), node('spare', 1)], 10, { maxRetries: 2, retryBackoffSeconds: 1 })), NOW);
}

/** A standby (id 8) behind a started attempt (id 7) on rig's GPU 0, withdrawn. */
function withdrawnStandby(step: Step<PlannedState>, attempt: number): JobWork {
  const holder = attemptWork(job('a'), 'rig', 0);
  const standby = attemptWork(job('b'), 'rig', 0, { counted: false, started: false, withdrawn: true, batch: 2 }, attempt);
  step.state.work[7] = holder;
  step.state.work[8] = standby;
  Object.assign(step.state.nodes.rig, { lanes: { free: [1], seats: { 0: [7, 8] }, busyOrder: [0] }, firstStarts: 3 });
  step.state.queue.push({ job: job('c'), attempt: 1, previous: [] });
  step.state.counts.running = 1;
  return standby;
}

describe('a withdrawn standby', () => {
  it('comes back first in line as the same attempt, its first start no longer counted on its node', () => {
    const step = sweep();
    const standby = withdrawnStandby(step, 1);
    attemptOver(step, 8, standby, null);
    expect(step.state.queue.map((entry) => [entry.job.job_id, entry.attempt])).toEqual([
      ['b', 1],
      ['c', 1],
    ]);
    expect(step.state.queue[0]).toBe(standby.entry);
    expect(step.state.nodes.rig.firstStarts).toBe(2);
    expect(step.decisions).toEqual([{ type: 'requeue', jobId: 'b', attempt: 1, why: 'withdrawn', batch: 2, node: 'rig' }]);
    // The holder keeps its GPU and the running count is unchanged: the standby never held it.
    expect(step.state.nodes.rig.lanes.seats).toEqual({ 0: [7] });
    expect(step.state.counts).toEqual({ done: 0, failed: 0, retries: 0, running: 1 });
  });

  it('as a retry, leaves its node’s first starts alone', () => {
    const step = sweep();
    const standby = withdrawnStandby(step, 2);
    attemptOver(step, 8, standby, null);
    expect(step.state.queue[0]).toMatchObject({ attempt: 2 });
    expect(step.state.nodes.rig.firstStarts).toBe(3);
    expect(step.decisions).toEqual([expect.objectContaining({ type: 'requeue', attempt: 2, why: 'withdrawn' })]);
  });

  it('is simply over on a sweep’s cancel', () => {
    const step = sweep();
    step.state.cancelled = true;
    attemptOver(step, 8, withdrawnStandby(step, 1), null);
    expect(step.state.queue.map((entry) => entry.job.job_id)).toEqual(['c']);
    expect(step.state.nodes.rig.firstStarts).toBe(3);
    expect(step.decisions).toEqual([]);
  });

  it('unlike work cancelled on purpose without being withdrawn, which is not requeued', () => {
    const step = sweep();
    const standby = { ...withdrawnStandby(step, 1), withdrawn: false };
    attemptOver(step, 8, standby, null);
    expect(step.state.queue.map((entry) => entry.job.job_id)).toEqual(['c']);
    expect(step.state.counts).toMatchObject({ done: 0, running: 1 });
    expect(step.decisions).toEqual([]);
  });
});

describe('the stagger after an attempt that ends', () => {
  it('counts from its end when it never reported its start', () => {
    const step = sweep();
    const work = attemptWork(job('a'), 'rig', 1, { started: false, counted: true });
    Object.assign(step.state.nodes.rig, { lanes: { free: [0], seats: { 1: [7] }, busyOrder: [1] }, awaitingStart: 7, lastStartedAtMs: 5 });
    attemptOver(step, 7, work, resultOf(work));
    expect(step.state.nodes.rig).toMatchObject({ awaitingStart: null, endedUnstartedAtMs: NOW, lastStartedAtMs: 5 });
  });

  it('stays counted from its reported start when it did report it', () => {
    const step = sweep();
    const work = attemptWork(job('a'), 'rig', 1, { started: true });
    Object.assign(step.state.nodes.rig, { lanes: { free: [0], seats: { 1: [7] }, busyOrder: [1] }, awaitingStart: 7, lastStartedAtMs: 5 });
    attemptOver(step, 7, work, resultOf(work));
    expect(step.state.nodes.rig).toMatchObject({ awaitingStart: null, endedUnstartedAtMs: null, lastStartedAtMs: 5 });
  });

  it('is no concern of an attempt the node is not waiting on', () => {
    const step = sweep();
    const work = attemptWork(job('a'), 'rig', 1, { started: false });
    Object.assign(step.state.nodes.rig, { lanes: { free: [0], seats: { 1: [7] }, busyOrder: [1] }, awaitingStart: 9 });
    attemptOver(step, 7, work, resultOf(work));
    expect(step.state.nodes.rig).toMatchObject({ awaitingStart: 9, endedUnstartedAtMs: null });
  });
});

describe('a node lost past the job’s lease', () => {
  it('is left out, with why, its batches planned again and a probe due in 5 s', () => {
    const step = sweep();
    const work = attemptWork(job('a'), 'rig', 1, { batch: 2 });
    Object.assign(step.state.nodes.rig, { lanes: { free: [0], seats: { 1: [7] }, busyOrder: [1] } });
    step.state.counts.running = 1;
    attemptOver(step, 7, work, resultOf(work, { success: false, failure_mode: 'SSH_ERROR', lost_contact: true, error: 'no route to host' }));
    const { state } = step;
    expect(state.steering.leftOut).toEqual({ rig: 'no route to host' });
    expect(state.steering.replanNeeded).toBe(true);
    // "probed every 5 s while the batch runs" (docs/sweeps.md).
    expect(state.nodes.rig.reprobeAtMs).toBe(NOW + 5000);
    expect(state.nodes.spare.reprobeAtMs).toBeNull();
    expect(state.log.events[0]).toMatchObject({ kind: 'probe', batch: 2, node: 'rig', verdict: 'left out', message: 'no route to host' });
    expect(state.warnings).toHaveLength(1);
    // Its job moves to another node as a counted retry (docs/sweeps.md, Retries).
    expect(state.queue).toEqual([expect.objectContaining({ attempt: 2, avoid: { node: 'rig', gpu: 1 } })]);
    expect(state.counts).toMatchObject({ retries: 1, done: 0, running: 0 });
  });

  it('is left out as having lost contact when the result says no more', () => {
    const step = sweep();
    const work = attemptWork(job('a'), 'rig', 0);
    attemptOver(step, 7, work, resultOf(work, { success: false, failure_mode: 'SSH_ERROR', lost_contact: true, error: null }));
    expect(step.state.steering.leftOut).toEqual({ rig: 'lost contact' });
  });

  it('already left out or quarantined keeps its verdict and probe time; an unknown node is ignored', () => {
    const step = sweep();
    step.state.steering.leftOut.rig = 'probe failed';
    step.state.steering.quarantined.spare = 'failed 3 probes in a row';
    step.state.nodes.rig.reprobeAtMs = 42;
    for (const name of ['rig', 'spare', 'gone']) leaveOutLostNode(step, name, 'lost', 1);
    expect(step.state.steering.leftOut).toEqual({ rig: 'probe failed' });
    expect(step.state.steering.replanNeeded).toBe(false);
    expect(step.state.nodes.rig.reprobeAtMs).toBe(42);
    expect(step.state.nodes.spare.reprobeAtMs).toBeNull();
    expect(step.state.log.events).toEqual([]);
    expect(step.state.warnings).toEqual([]);
  });
});

describe('failedDispatchResult', () => {
  const work = attemptWork(job('a', { expected_output: 'out/a.json' }), 'rig', 1, { batch: 4 }, 2);

  it.each(['SshConnectError', 'SshAuthError', 'HostKeyError'])('makes %s an SSH_ERROR at the time it failed', (errorType) => {
    expect(failedDispatchResult(work, NOW, errorType, 'refused')).toMatchObject({
      job_id: 'a',
      node: 'rig',
      gpu_id: 1,
      batch: 4,
      attempt: 2,
      output_file: 'out/a.json',
      success: false,
      failure_mode: 'SSH_ERROR',
      error: 'refused',
      runtime: 0,
      started_at: new Date(NOW).toISOString(),
      ended_at: new Date(NOW).toISOString(),
    });
  });

  it.each([undefined, '', 'ApplicationFailure', 'sshconnecterror'])('makes any other failure (%j) an EXECUTION_ERROR', (errorType) => {
    const result = failedDispatchResult(attemptWork(job('b'), 'spare', 0), NOW, errorType, 'worker lost');
    expect(result).toMatchObject({ job_id: 'b', node: 'spare', failure_mode: 'EXECUTION_ERROR', error: 'worker lost', output_file: null, success: false });
  });
});
