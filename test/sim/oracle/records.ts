/**
 * The final records the core appends, and `batching.max_fail_percentage` (docs/sweeps.md): a
 * batch (barrier) or segment (rolling) whose records failed above it, with jobs left, ends the
 * sweep at once — no batch after it, nothing new started — and the Results JSON says why.
 */
import type { Decision } from '../../../src/shared/dispatch/decisions';
import type { JobResult } from '../../../src/shared/results';
import { rule } from './rule';
import type { OracleState } from './state';

type Counts = { finished: number; failed: number };

/** Only barrier and rolling batches are held to the threshold: a sweep without batches, or a mode not in the docs, is not. */
function failLimit(state: OracleState): number | undefined {
  const limit = state.input.scenario.batching.max_fail_percentage;
  return limit === undefined || (state.mode !== 'barrier' && state.mode !== 'rolling') ? undefined : limit;
}

/** Records appended: each counts against its batch, never more than max_retries + 1 attempts, and its job is done. */
export function recordsAppended(state: OracleState, results: JobResult[]): void {
  for (const result of results) {
    const counts = state.records.get(result.batch) ?? { finished: 0, failed: 0 };
    counts.finished++;
    if (!result.success) counts.failed++;
    state.records.set(result.batch, counts);
    state.recorded.add(result.job_id);
    const history = state.jobs.get(result.job_id);
    rule(
      result.attempts.length <= state.input.maxRetries + 1,
      'at most max_retries + 1 attempts',
      () => `${state.input.sweep}: ${result.job_id} recorded ${result.attempts.length}`,
    );
    if (history) history.final = true;
  }
  const limit = failLimit(state);
  if (limit === undefined) return;
  for (const counts of state.records.values()) if ((100 * counts.failed) / Math.max(1, counts.finished) > limit) state.thresholdStop = true;
}

/** The core declared a batch over: above the threshold with jobs left, the sweep must stop now. */
export function batchOver(state: OracleState, decision: Extract<Decision, { type: 'batchOver' }>, now: number): void {
  state.overBatches.add(decision.batch);
  if (state.mode === 'rolling') {
    // Rolling: a segment drains, and each node's own upkeep — its reset, then its cooldown — is part of it.
    const resetting = [...state.pending.values()].filter((work) => work.kind === 'reset').map((work) => work.node);
    const cooling = [...state.nodes.values()].filter(
      (node) => node.cooldownFrom !== null && now < node.cooldownFrom + Math.min(...state.cooldown.over(node.cooldownFrom, now)) * 1000,
    );
    rule(
      resetting.length === 0 && cooling.length === 0,
      'rolling: a segment is over once no node resets or cools down',
      () =>
        `${state.input.sweep}: segment ${decision.batch} over at ${now} ms; resetting ${resetting.join(', ') || 'none'}, cooling ${cooling.map((node) => node.name).join(', ') || 'none'}`,
    );
  }
  const counts = state.records.get(decision.batch);
  const limit = state.input.scenario.batching.max_fail_percentage;
  const stops = (state.mode === 'barrier' || state.mode === 'rolling') && limit !== undefined && counts !== undefined;
  if (stops && (100 * counts.failed) / Math.max(1, counts.finished) > limit && state.recorded.size < state.input.jobCount) state.stopRequired = true;
}

/** max_fail_percentage: no batch after one whose records failed above it. */
export function judgeThresholdBefore(state: OracleState, batch: number, where: string): void {
  for (const [k, counts] of state.records) if (k < batch) thresholdRule(state, k, counts, where);
}

/** max_fail_percentage: no more jobs read after a batch the core declared over failed above it. */
export function judgeThreshold(state: OracleState, what: string): void {
  for (const k of state.overBatches) {
    const counts = state.records.get(k);
    if (counts) thresholdRule(state, k, counts, `${state.input.sweep}: ${what}`);
  }
}

function thresholdRule(state: OracleState, batch: number, counts: Counts, where: string): void {
  const limit = failLimit(state);
  if (limit === undefined) return;
  const exceeded = (100 * counts.failed) / Math.max(1, counts.finished) > limit;
  rule(
    !exceeded,
    'max_fail_percentage stops the sweep after the batch',
    () => `${where}: batch ${batch} failed ${counts.failed} of ${counts.finished}, limit ${limit}%`,
  );
}

/** docs/dispatcher-core.md: records go to the run folder 50 to an append while jobs run (a payload far below Temporal's limit); what is left, once nothing runs. */
const RECORDS_PER_APPEND = 50;

export function judgeRecordChunk(state: OracleState, records: number): void {
  rule(
    records === RECORDS_PER_APPEND || (records < RECORDS_PER_APPEND && state.attempts.size === 0),
    'job records are appended 50 at a time while jobs run, the rest once nothing runs',
    () => `${state.input.sweep}: ${records} records appended while ${state.attempts.size} attempts run`,
  );
}
