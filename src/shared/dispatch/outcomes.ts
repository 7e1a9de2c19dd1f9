/**
 * What happens when an attempt ends: its GPU is free again (or passes to the standby behind it),
 * and the job has its final result — or, for a run that failed, a backoff and another place in the
 * queue, where any node may pick it up. A node lost past the job's lease is left out and probed
 * until it is back. Pure code.
 */
import type { AttemptResult, JobResult } from '../results';
import { attemptWithoutExit, summariseAttempt } from '../results';
import { retryBackoffSeconds, shouldRetry } from '../retry-policy';
import { release } from './lanes';
import { probeVerdict } from './service';
import type { JobWork, PlannedState } from './state';
import type { Step } from './step';

/** Seconds between probes of a node lost mid-sweep. */
export const REPROBE_SECONDS = 5;

/** Failures of an attempt's activity that mean the node could not be reached or refused us. */
const SSH_ERROR_TYPES = ['SshConnectError', 'SshAuthError', 'HostKeyError'];

/** An attempt whose activity failed for good (node unreachable, host key refused): a failed result. */
export function failedDispatchResult(work: JobWork, now: number, errorType: string | undefined, message: string): AttemptResult {
  const where = {
    job_id: work.entry.job.job_id,
    node: work.node,
    gpu_id: work.gpu,
    batch: work.batch,
    attempt: work.entry.attempt,
    output_file: work.entry.job.expected_output ?? null,
  };
  const failure_mode = errorType && SSH_ERROR_TYPES.includes(errorType) ? 'SSH_ERROR' : 'EXECUTION_ERROR';
  const at = new Date(now);
  return attemptWithoutExit(where, { failure_mode, error: message }, at, at);
}

/**
 * Attempt `id` ended: with its result, or (null) cancelled on purpose. Its lane passes on, and
 * its job is settled, requeued (a withdrawn standby), or — on a sweep's cancel — simply over.
 */
export function attemptOver(step: Step<PlannedState>, id: number, work: JobWork, result: AttemptResult | null): void {
  const { state, now } = step;
  const runtime = step.runtime(work.node);
  const holder = release(runtime.lanes, work.gpu, id);
  if (holder !== undefined) {
    const next = state.work[holder] as JobWork;
    next.counted = true;
    state.counts.running++;
  }
  if (work.counted) state.counts.running--;
  if (runtime.awaitingStart === id) {
    // Ended without a reported start: the next start waits the whole stagger from now.
    runtime.awaitingStart = null;
    if (!work.started) runtime.endedUnstartedAtMs = now;
  }
  if (result) settle(step, work, result);
  else if (work.withdrawn && !state.cancelled) requeueWithdrawn(step, work);
}

/** A withdrawn standby waits in the queue again, first in line, as the same attempt. */
function requeueWithdrawn(step: Step, work: JobWork): void {
  if (work.entry.attempt === 1) step.runtime(work.node).firstStarts--;
  step.state.queue.unshift(work.entry);
  step.decide({ type: 'requeue', jobId: work.entry.job.job_id, attempt: work.entry.attempt, why: 'withdrawn', batch: work.batch, node: work.node });
}

function settle(step: Step<PlannedState>, work: JobWork, result: AttemptResult): void {
  const { state, now } = step;
  const { entry } = work;
  const attempts = [...entry.previous, summariseAttempt(result)];
  if (result.lost_contact) leaveOutLostNode(step, result.node, result.error ?? 'lost contact', work.batch);
  const plan = state.plan;
  if (!shouldRetry(result, entry.attempt, plan.maxRetries)) {
    finalize(step, { ...result, attempts });
    return;
  }
  const backoff = retryBackoffSeconds(plan.retryBackoffSeconds, entry.attempt);
  state.counts.retries++;
  step.log({
    kind: 'job',
    batch: result.batch,
    job: jobLine(result),
    retry: { nextAttempt: entry.attempt + 1, maxAttempts: plan.maxRetries + 1, inSeconds: backoff },
  });
  state.queue.push({
    job: entry.job,
    attempt: entry.attempt + 1,
    previous: attempts,
    avoid: { node: result.node, gpu: result.gpu_id },
    last: result,
    notBeforeMs: now + backoff * 1000,
  });
  step.decide({ type: 'requeue', jobId: entry.job.job_id, attempt: entry.attempt + 1, why: 'retry', batch: work.batch, node: work.node });
}

/** A job has its final result: counted, shown, and kept until it is recorded. */
export function finalize(step: Step, final: JobResult): void {
  const { state } = step;
  state.counts.done++;
  if (!final.success) state.counts.failed++;
  const runtime = state.nodes[final.node];
  if (runtime) {
    runtime.done++;
    if (!final.success) runtime.failed++;
    runtime.lastFinished = { job_id: final.job_id, success: final.success, runtime: final.runtime };
  }
  if (state.shown) {
    state.shown.finished++;
    if (final.success) state.shown.successful++;
  }
  step.log({ kind: 'job', batch: final.batch, job: jobLine(final) });
  state.unrecorded.push(final);
}

/** A node lost mid-sweep (a job came back as SSH_ERROR past its lease): no more jobs there until a probe passes. */
export function leaveOutLostNode(step: Step, node: string, message: string, batch: number): void {
  const { state } = step;
  if (probeVerdict(state, node) || !state.nodes[node]) return;
  state.steering.leftOut[node] = message;
  state.steering.replanNeeded = true;
  step.log({ kind: 'probe', batch, node, verdict: 'left out', message });
  step.warn(`batch ${batch}: ${node} left out: ${message}`);
  state.nodes[node].reprobeAtMs = step.now + REPROBE_SECONDS * 1000;
}

function jobLine({ job_id, success, node, gpu_id, runtime, failure_mode, error, attempt }: AttemptResult) {
  return { job_id, success, node, gpu_id, runtime, failure_mode, error, attempt };
}
