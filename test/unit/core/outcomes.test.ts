/**
 * What happens when an attempt ends (docs/sweeps.md, Retries; docs/dispatcher-core.md): its GPU
 * passes to the standby behind it or is free, the running count users see follows, and the job is
 * settled — its final result counted once, for the sweep, its node and its batch — or, after a run
 * that failed with attempts left, requeued as the next attempt after its backoff, preferring
 * another GPU. Each case builds one attempt by hand and reads its expectation off it.
 */
import { describe, expect, it } from 'vitest';
import { attemptOver, finalize } from '../../../src/shared/dispatch/outcomes';
import type { PlannedState } from '../../../src/shared/dispatch/state';
import { Step } from '../../../src/shared/dispatch/step';
import type { AttemptSummary, JobResult } from '../../../src/shared/results';
import { attemptWork, job, node, plan, plannedState, resultOf } from './sweep-fixtures';

const NOW = 1_000_000;

/** A sweep on rig (2 GPUs) and spare (1 GPU), at most `maxRetries` further attempts, a 4 s base backoff. */
function sweep(maxRetries = 3): Step<PlannedState> {
  return new Step(plannedState(plan([node('rig', 2), node('spare', 1)], 10, { maxRetries, retryBackoffSeconds: 4 })), NOW);
}

/** Seats `work` (id `id`) on its GPU in the step's state, as dispatch would have. */
function seated(step: Step<PlannedState>, id: number, work: ReturnType<typeof attemptWork>) {
  const lanes = step.state.nodes[work.node].lanes;
  if (lanes.seats[work.gpu]) lanes.seats[work.gpu].push(id);
  else {
    lanes.free = lanes.free.filter((gpu) => gpu !== work.gpu);
    lanes.seats[work.gpu] = [id];
    lanes.busyOrder.push(work.gpu);
  }
  step.state.work[id] = work;
  if (work.counted) step.state.counts.running++;
  return work;
}

describe('an attempt that succeeds', () => {
  it('frees its GPU, leaves the running count and is the job’s final result, counted once', () => {
    const step = sweep();
    const work = seated(step, 7, attemptWork(job('a'), 'rig', 1));
    step.state.shown = { number: 1, jobs: 10, finished: 0, successful: 0 };
    const result = resultOf(work, { runtime: 12 });
    attemptOver(step, 7, work, result);
    const { state } = step;
    expect(state.nodes.rig.lanes).toEqual({ free: [0, 1], seats: {}, busyOrder: [] });
    expect(state.counts).toEqual({ done: 1, failed: 0, retries: 0, running: 0 });
    expect(state.nodes.rig).toMatchObject({ done: 1, failed: 0, lastFinished: { job_id: 'a', success: true, runtime: 12 } });
    expect(state.nodes.spare).toMatchObject({ done: 0, failed: 0, lastFinished: null });
    expect(state.shown).toEqual({ number: 1, jobs: 10, finished: 1, successful: 1 });
    expect(state.queue).toEqual([]);
    expect(state.unrecorded).toHaveLength(1);
    expect(state.unrecorded[0]).toMatchObject({ job_id: 'a', success: true, node: 'rig', gpu_id: 1, attempt: 1 });
    expect(state.unrecorded[0].attempts).toEqual([expect.objectContaining({ attempt: 1, node: 'rig', gpu_id: 1, failure_mode: null })]);
    expect(state.log.events).toHaveLength(1);
    expect(state.log.events[0]).toMatchObject({ kind: 'job', batch: 1, job: { job_id: 'a', success: true } });
    expect(step.decisions).toEqual([]);
  });

  it('passes its GPU to the standby behind it, which now counts as running', () => {
    const step = sweep();
    const holder = seated(step, 7, attemptWork(job('a'), 'rig', 0));
    const standby = seated(step, 8, attemptWork(job('b'), 'rig', 0, { counted: false, started: false }));
    expect(step.state.counts.running).toBe(1);
    attemptOver(step, 7, holder, resultOf(holder));
    expect(standby.counted).toBe(true);
    expect(step.state.counts.running).toBe(1);
    expect(step.state.nodes.rig.lanes.seats).toEqual({ 0: [8] });
  });
});

describe('an attempt that fails for good', () => {
  it('counts as done and failed for the sweep, its node and its batch', () => {
    const step = sweep(0);
    step.state.shown = { number: 2, jobs: 10, finished: 3, successful: 3 };
    const work = seated(step, 7, attemptWork(job('a'), 'spare', 0, { batch: 2 }));
    attemptOver(step, 7, work, resultOf(work, { success: false, failure_mode: 'EXIT_CODE', exit_code: 1, error: 'exit 1' }));
    expect(step.state.counts).toEqual({ done: 1, failed: 1, retries: 0, running: 0 });
    expect(step.state.nodes.spare).toMatchObject({ done: 1, failed: 1, lastFinished: { job_id: 'a', success: false } });
    expect(step.state.shown).toEqual({ number: 2, jobs: 10, finished: 4, successful: 3 });
    expect(step.state.unrecorded[0]).toMatchObject({ job_id: 'a', success: false, failure_mode: 'EXIT_CODE', batch: 2 });
    expect(step.state.queue).toEqual([]);
    expect(step.state.log.events.at(-1)).toMatchObject({
      kind: 'job',
      batch: 2,
      job: { job_id: 'a', success: false, failure_mode: 'EXIT_CODE', error: 'exit 1', attempt: 1 },
    });
  });

  it('keeps every attempt in the job’s record, the earlier ones first', () => {
    const step = sweep(1);
    const earlier: AttemptSummary = {
      attempt: 1,
      node: 'spare',
      gpu_id: 0,
      failure_mode: 'KILLED',
      error: 'oom',
      exit_code: null,
      signal: 'SIGKILL',
      runtime: 3,
      started_at: 'x',
    };
    const work = seated(step, 9, { ...attemptWork(job('a'), 'rig', 1, {}, 2), entry: { job: job('a'), attempt: 2, previous: [earlier] } });
    attemptOver(step, 9, work, resultOf(work, { success: false, failure_mode: 'TIMEOUT', error: 'timed out' }));
    expect(step.state.unrecorded[0].attempts).toEqual([earlier, expect.objectContaining({ attempt: 2, node: 'rig', gpu_id: 1, failure_mode: 'TIMEOUT' })]);
  });
});

describe('an attempt whose run failed with attempts left', () => {
  it('comes back as the next attempt after its backoff, avoiding its GPU, and is not final', () => {
    const step = sweep(3);
    const work = seated(step, 7, attemptWork(job('a'), 'rig', 1, { batch: 3 }));
    const failure = resultOf(work, { success: false, failure_mode: 'EXIT_CODE', exit_code: 2, error: 'exit 2' });
    attemptOver(step, 7, work, failure);
    const { state } = step;
    expect(state.counts).toEqual({ done: 0, failed: 0, retries: 1, running: 0 });
    expect(state.unrecorded).toEqual([]);
    expect(state.nodes.rig).toMatchObject({ done: 0, failed: 0 });
    // The first retry waits the base backoff: 4 s.
    expect(state.queue).toEqual([
      {
        job: job('a'),
        attempt: 2,
        previous: [expect.objectContaining({ attempt: 1, node: 'rig', gpu_id: 1, failure_mode: 'EXIT_CODE', exit_code: 2 })],
        avoid: { node: 'rig', gpu: 1 },
        last: failure,
        notBeforeMs: NOW + 4000,
      },
    ]);
    expect(step.decisions).toEqual([{ type: 'requeue', jobId: 'a', attempt: 2, why: 'retry', batch: 3, node: 'rig' }]);
    expect(state.log.events).toHaveLength(1);
    expect(state.log.events[0]).toMatchObject({
      kind: 'job',
      batch: 3,
      job: { job_id: 'a', success: false },
      retry: { nextAttempt: 2, maxAttempts: 4, inSeconds: 4 },
    });
  });

  it('waits twice as long before each further attempt', () => {
    const step = sweep(3);
    const work = seated(step, 7, attemptWork(job('a'), 'rig', 0, {}, 3));
    attemptOver(step, 7, work, resultOf(work, { success: false, failure_mode: 'FILE_MISSING' }));
    expect(step.state.queue[0]).toMatchObject({ attempt: 4, notBeforeMs: NOW + 16_000 });
    expect(step.state.log.events[0]).toMatchObject({ retry: { nextAttempt: 4, maxAttempts: 4, inSeconds: 16 } });
    expect(step.decisions).toEqual([expect.objectContaining({ type: 'requeue', attempt: 4, why: 'retry' })]);
  });
});

describe('finalize', () => {
  it('counts a result of a node no longer in the sweep for the sweep alone', () => {
    const step = sweep();
    const final = { ...resultOf(attemptWork(job('z'), 'gone', 0)), success: false, failure_mode: 'SSH_ERROR', attempts: [] } as JobResult;
    finalize(step, final);
    expect(step.state.counts).toMatchObject({ done: 1, failed: 1 });
    expect(step.state.nodes.gone).toBeUndefined();
    expect(step.state.unrecorded).toEqual([final]);
  });

  it('leaves the shown batch alone when none is shown', () => {
    const step = sweep();
    finalize(step, { ...resultOf(attemptWork(job('a'), 'rig', 0)), attempts: [] });
    expect(step.state.shown).toBeNull();
    expect(step.state.counts).toMatchObject({ done: 1, failed: 0 });
  });
});
