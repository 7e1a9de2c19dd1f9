/**
 * Each job's attempts (docs/sweeps.md, Retries): never two live copies, at most
 * `max_retries + 1` attempts one after another, a retry only after a retryable failure, in the
 * same batch, once its backoff is over; a withdrawn standby comes back as the same attempt.
 */
import type { Decision } from '../../../src/shared/dispatch/decisions';
import type { AttemptResult } from '../../../src/shared/results';
import { leaveOut } from './nodes';
import { rule } from './rule';
import { liveOn, nodeNamed, type Attempt, type NodeRules, type OracleState } from './state';

/** docs/sweeps.md, Retries: the failures of a run that earn another attempt. */
const RETRYABLE = ['EXIT_CODE', 'KILLED', 'TIMEOUT', 'FILE_MISSING', 'STALE_OUTPUT', 'FILE_EMPTY', 'INVALID_JSON'];
/** docs/sweeps.md, Retries: the backoff doubles from `retry_backoff_seconds`, at most a minute. */
const MAX_BACKOFF_SECONDS = 60;

type StartJob = Extract<Decision, { type: 'startJob' }>;

/** docs/sweeps.md, Retries: infrastructure errors are retried for up to 10 minutes past the job's timeout. */
const INFRASTRUCTURE_RETRY_SECONDS = 600;

export function judgeAttempt(state: OracleState, decision: StartJob, now: number, where: string): void {
  const { startToCloseSeconds, scheduleToCloseSeconds, retryWindowSeconds } = decision.timeouts;
  rule(
    startToCloseSeconds > decision.job.timeout &&
      retryWindowSeconds === INFRASTRUCTURE_RETRY_SECONDS &&
      scheduleToCloseSeconds === startToCloseSeconds + INFRASTRUCTURE_RETRY_SECONDS,
    "an attempt outlasts its job's timeout, and infrastructure errors are retried 10 minutes more",
    () => `${where}: job timeout ${decision.job.timeout} s, ${JSON.stringify(decision.timeouts)}`,
  );
  const history = state.jobs.get(decision.job.job_id);
  const maxAttempts = state.input.maxRetries + 1;
  rule(decision.attempt >= 1 && decision.attempt <= maxAttempts, 'at most max_retries + 1 attempts', () => `${where}: max ${maxAttempts}`);
  rule(history?.live == null, 'never two live copies of a job', () => `${where}: attempt ${history?.live} still runs`);
  rule(!history?.final, 'a job with its final result never runs again', () => where);
  if (!history) {
    rule(decision.attempt === 1, 'attempts one after another', () => `${where}: its first dispatch`);
    return;
  }
  if (history.lastWithdrawn) {
    rule(decision.attempt === history.lastAttempt, 'a withdrawn standby comes back as the same attempt', () => `${where}: was attempt ${history.lastAttempt}`);
  } else {
    rule(decision.attempt === history.lastAttempt + 1, 'attempts one after another', () => `${where}: the last was ${history.lastAttempt}`);
    rule(history.retryable, 'a retry only after a run that failed in a retryable way', () => where);
  }
  if (decision.attempt > 1) {
    rule(decision.batch === history.batch, 'a retry stays in its batch', () => `${where}: batch ${decision.batch}, its attempts ran in batch ${history.batch}`);
    const backoff = Math.min(MAX_BACKOFF_SECONDS, state.input.scenario.retryBackoffSeconds * 2 ** (decision.attempt - 2));
    rule(
      now >= history.endedAt + backoff * 1000,
      'a retry after its backoff',
      () => `${where}: attempt ${decision.attempt - 1} ended at ${history.endedAt} ms, backoff ${backoff} s`,
    );
  }
}

/** A start that broke no rule, now in flight: its job's history, its node's unconfirmed start, the stagger it left with. */
export function attemptDispatched(state: OracleState, decision: StartJob, node: NodeRules, standby: boolean): void {
  const name = node.name;
  const job = decision.job.job_id;
  const attempt: Attempt = {
    work: decision.work,
    jobId: job,
    node: name,
    gpu: decision.gpu,
    attempt: decision.attempt,
    batch: decision.batch,
    startedConfirmed: false,
    standby,
    withdrawn: false,
  };
  state.attempts.set(decision.work, attempt);
  state.staggerAt.set(decision.work, node.stagger);
  state.pending.set(decision.work, { kind: 'job', node: name });
  const history = state.jobs.get(job) ?? { live: null, lastAttempt: 0, lastWithdrawn: false, batch: 0, endedAt: -Infinity, retryable: false, final: false };
  Object.assign(history, { live: decision.work, lastAttempt: decision.attempt, lastWithdrawn: false, batch: decision.batch });
  state.jobs.set(job, history);
  node.awaiting = decision.work;
  state.firstBatchBegun = true;
}

/**
 * Work ended (`result` null: it failed to run, or was cancelled). For an attempt: whether it
 * earned a retry, when its node and the cluster drained, and a lost link leaves its node out.
 */
export function attemptEnded(state: OracleState, work: number, now: number, result: AttemptResult | null): void {
  const kind = state.pending.get(work);
  state.pending.delete(work);
  const attempt = state.attempts.get(work);
  if (!attempt) {
    // A reset, probe or warm-up ended by its cancel.
    if (kind?.kind === 'probe') state.preflightAnswered += kind.health ? 0 : 1;
    return;
  }
  state.attempts.delete(work);
  const node = nodeNamed(state, attempt.node);
  if (node.awaiting === work) node.awaiting = null;
  if (liveOn(state, node.name).length === 0) node.drainedAt = now;
  if (state.attempts.size === 0) {
    state.drainedAt = now;
    state.readSinceDrained = false;
  }
  const history = state.jobs.get(attempt.jobId)!;
  history.live = null;
  if (attempt.withdrawn && result === null) {
    history.lastWithdrawn = true;
    return;
  }
  history.endedAt = now;
  history.retryable =
    result !== null &&
    !result.success &&
    (RETRYABLE.includes(result.failure_mode ?? '') || (result.failure_mode === 'SSH_ERROR' && result.lost_contact === true));
  if (result?.lost_contact && !node.quarantined && !node.leftOut) leaveOut(node, now);
}
