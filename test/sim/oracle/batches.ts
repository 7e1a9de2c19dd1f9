/**
 * Batches (docs/sweeps.md, batching): barrier batches and rolling segments one after another,
 * each held to the caps it began with — `max_jobs_per_batch` and `max_jobs_per_node_per_batch`,
 * any value in force from the end of the batch before to its first start, since the docs leave
 * open which one a `set` in that window reaches. What must happen between batches is in upkeep.ts,
 * the failure threshold in records.ts.
 */
import type { Decision } from '../../../src/shared/dispatch/decisions';
import type { SettingsChange } from '../../../src/shared/names';
import { judgeThreshold, judgeThresholdBefore } from './records';
import { rule } from './rule';
import type { NodeRules, OracleState } from './state';
import { judgeBarrier, judgeProbesBefore } from './upkeep';

type StartJob = Extract<Decision, { type: 'startJob' }>;

/** A `set` of the batch caps or the cooldown (a sweep without batches has no cooldown to change). */
export function batchSettingsChanged(state: OracleState, change: SettingsChange, now: number): void {
  if (typeof change.max_jobs_per_batch === 'number') state.maxJobsPerBatch.set(now, change.max_jobs_per_batch);
  if (typeof change.max_jobs_per_node_per_batch === 'number') state.perNodeCap.set(now, change.max_jobs_per_node_per_batch);
  if (typeof change.inter_batch_cooldown_seconds === 'number' && state.mode !== 'unbatched') state.cooldown.set(now, change.inter_batch_cooldown_seconds);
}

/** Jobs read from the jobs file: the next batch's, so not while paused (the first excepted) nor past the failure threshold. */
export function judgeLoadJobs(state: OracleState, decision: Extract<Decision, { type: 'loadJobs' }>, now: number): void {
  state.pending.set(decision.work, { kind: 'load' });
  state.loaded += decision.end - decision.start;
  rule(
    decision.start < decision.end && decision.end <= state.input.jobCount,
    'a read takes at least one job of the list',
    () => `${state.input.sweep}: jobs ${decision.start}-${decision.end} of ${state.input.jobCount}`,
  );
  rule(
    !state.runDue,
    'a run due to continue as new reads no more jobs before it does',
    () => `${state.input.sweep}: jobs ${decision.start}-${decision.end} read at ${now} ms`,
  );
  rule(
    !state.paused || !state.firstBatchBegun,
    'no new batch while paused',
    () => `${state.input.sweep}: jobs ${decision.start}-${decision.end} read at ${now} ms while paused`,
  );
  judgeThreshold(state, `jobs ${decision.start}-${decision.end} read`);
  state.firstBatchBegun = true;
  state.readSinceDrained = true;
}

/** Barrier: caps per batch and per node; a new batch only once the last drained, its rigs reset and the cluster cooled down. */
export function judgeBatch(state: OracleState, decision: StartJob, node: NodeRules, now: number, where: string): void {
  const b = decision.batch;
  rule(b >= state.batch, 'batches one after another', () => `${where}: batch ${b} after batch ${state.batch}`);
  rule(state.mode !== 'unbatched' || b === 1, 'a sweep without batches is one batch', () => `${where}: batch ${b}`);
  if (b > state.batch) {
    if (state.batch > 0 && (state.mode === 'barrier' || state.mode === 'rolling')) judgeThresholdBefore(state, b, where);
    // A batch begins when its jobs are read (checked above, in judgeLoadJobs); one that reads none begins with its first start.
    if (state.paused && state.batch > 0 && !state.readSinceDrained) rule(false, 'no new batch while paused', () => `${where}: batch ${b} begins while paused`);
    if (state.mode === 'barrier' && state.batch > 0) judgeBarrier(state, now, where);
    if (state.mode === 'rolling' && state.batch > 0)
      rule(state.attempts.size === 0, 'rolling: a segment begins once the one before has drained', () => `${where}: ${state.attempts.size} attempts still run`);
    if ((state.mode === 'barrier' || state.mode === 'rolling') && state.batch > 0) judgeProbesBefore(state, where);
    // The caps a batch begins with: any value in force from the end of the batch before to its first start.
    const from = state.batch === 0 ? -Infinity : state.drainedAt;
    const window = { caps: state.perNodeCap.over(from, now), max: state.maxJobsPerBatch.over(from, now) };
    state.batchStarts.set(b, { total: new Set(), perNode: new Map(), maxJobs: Math.max(...window.max), perNodeCap: Math.max(...window.caps) });
    state.batch = b;
  }
  if (state.mode !== 'barrier' || decision.attempt !== 1) return;
  const count = state.batchStarts.get(b)!;
  count.total.add(decision.job.job_id);
  const mine = count.perNode.get(node.name) ?? new Set<string>();
  mine.add(decision.job.job_id);
  count.perNode.set(node.name, mine);
  rule(mine.size <= count.perNodeCap, 'per-node-per-batch cap', () => `${where}: ${mine.size} first attempts in batch ${b}, cap ${count.perNodeCap}`);
  rule(count.total.size <= count.maxJobs, 'max_jobs_per_batch', () => `${where}: ${count.total.size} jobs in batch ${b}, max ${count.maxJobs}`);
}

/** Rolling: max_jobs_per_batch bounds what runs at once (the start just dispatched included). */
export function judgeRollingRunning(state: OracleState, where: string): void {
  const running = [...state.attempts.values()].length;
  rule(
    running <= state.maxJobsPerBatch.now,
    'rolling: at most max_jobs_per_batch at once',
    () => `${where}: ${running} running, max ${state.maxJobsPerBatch.now}`,
  );
}
