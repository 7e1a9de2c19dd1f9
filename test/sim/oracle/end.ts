/**
 * How a sweep ends (docs/sweeps.md): once it is over nothing more is decided; a cancel starts
 * nothing new and stops every piece of work on the nodes; a batch above `max_fail_percentage`
 * or a failed probe under node_health.on_failure "fail" stops it at once. What its end must
 * show — ran to its end, or why not — for the scenario runner to check against the Results JSON.
 */
import type { Decision } from '../../../src/shared/dispatch/decisions';
import { rule } from './rule';
import type { OracleState } from './state';

/** The decisions that start something new on the nodes (or read more jobs). */
const STARTS = ['startJob', 'warmUp', 'resetNode', 'probeNode', 'loadJobs'];

/** A decision against what stops the sweep: its end, a cancel, the failure threshold, a failed probe under "fail". */
export function judgeNotStopped(state: OracleState, decision: Decision, now: number): void {
  rule(!state.over, 'nothing after the sweep is over', () => `${state.input.sweep}: ${decision.type} at ${now} ms`);
  rule(
    !state.writing || (!STARTS.includes(decision.type) && decision.type !== 'writeResults'),
    'the Results JSON is written once, the sweep’s last work',
    () => `${state.input.sweep}: ${decision.type} after the Results JSON was asked for`,
  );
  rule(!state.cancelled || !STARTS.includes(decision.type), 'a cancel starts nothing new', () => `${state.input.sweep}: ${decision.type} after the cancel`);
  const lostProbe = decision.type === 'probeNode' && decision.lost;
  rule(
    !state.stopRequired || !STARTS.includes(decision.type) || lostProbe,
    'max_fail_percentage ends the sweep at once',
    () => `${state.input.sweep}: ${decision.type} after a batch failed above the limit`,
  );
  rule(
    !state.mustFailForHealth || !['startJob', 'loadJobs'].includes(decision.type),
    'node_health.on_failure "fail" fails the sweep',
    () => `${state.input.sweep}: ${decision.type} after a node failed its probe before a batch`,
  );
}

/** A cancel reaches every piece of work on the nodes in the step that hears it. */
export function judgeCancel(state: OracleState): void {
  if (!state.cancelled) return;
  for (const [id, work] of state.pending) {
    if (!['job', 'reset', 'probe', 'warmup'].includes(work.kind)) continue;
    rule(
      state.cancelAsked.has(id),
      'a cancel stops every piece of work on the nodes',
      () => `${state.input.sweep}: ${work.kind} ${id} on ${work.node} not cancelled`,
    );
  }
}

/** Why the Results JSON must say the sweep stopped early, if it must. */
export function requiredStop(state: OracleState): string | null {
  if (state.cancelled) return null;
  return state.stopRequired ? 'max_fail_percentage' : null;
}

/** The sweep must end failed: a node failed its probe before a batch under on_failure "fail". */
export function mustFail(state: OracleState): boolean {
  return state.mustFailForHealth && !state.cancelled;
}

/** What the sweep's end must show, by the rules: ran to its end (every job one record), or why not. */
export function expectedEnd(state: OracleState): { ranToEnd: boolean; why: string } {
  if (state.cancelled) return { ranToEnd: false, why: 'cancelled' };
  if (state.thresholdStop) return { ranToEnd: false, why: 'max_fail_percentage' };
  if (state.mustFailForHealth) return { ranToEnd: false, why: 'node_health.on_failure "fail"' };
  if (everyNodeQuarantined(state)) return { ranToEnd: false, why: 'every node quarantined' };
  return { ranToEnd: true, why: '' };
}

/**
 * docs/sweeps.md, Retries: a run that failed in a retryable way is tried again while attempts
 * remain. In a sweep that ran to its end, the jobs whose final record came after such a run
 * with attempts left.
 */
export function unretried(state: OracleState): string[] {
  if (!expectedEnd(state).ranToEnd) return [];
  const maxAttempts = state.input.maxRetries + 1;
  return [...state.jobs.entries()]
    .filter(([, history]) => history.final && history.retryable && history.lastAttempt < maxAttempts)
    .map(([jobId, history]) => `${jobId} ended for good after attempt ${history.lastAttempt} of ${maxAttempts}`);
}

type WriteResults = Extract<Decision, { type: 'writeResults' }>;

/**
 * The Results JSON is written once nothing runs, from what the oracle saw: the batches that ran
 * (`batches`), and why the sweep stopped early if it did (`stopped_reason`, docs/sweeps.md): a
 * cancel — saying whether it came after the last job ended —, max_fail_percentage, or every node
 * quarantined with the jobs not run; nothing for a sweep that ran to its end.
 */
export function judgeResultsInput(state: OracleState, { input }: WriteResults): void {
  const sweep = state.input.sweep;
  rule(state.pending.size === 0, 'the Results JSON is written once nothing runs', () => `${sweep}: ${state.pending.size} pieces of work in flight`);
  state.writing = true;
  const reason = input.stoppedReason ?? '';
  const end = expectedEnd(state);
  if (end.why === 'cancelled' && !state.stopRequired && !everyNodeQuarantined(state)) {
    // Every job recorded before the cancel: it came after the last job. Some job not recorded even now: it cut the sweep short.
    const jobs = state.input.jobCount;
    const after = state.recordedAtCancel === jobs ? true : state.recorded.size < jobs ? false : undefined;
    const says = reason.includes('after its last job ended') ? true : reason.includes('no further job was started') ? false : undefined;
    rule(
      reason.includes('cancelled') && says !== undefined && (after === undefined || says === after),
      'a cancelled sweep says so, and whether its last job had ended',
      () => `${sweep}: "${reason}", ${state.recordedAtCancel} of ${jobs} jobs recorded at the cancel, ${state.recorded.size} now`,
    );
  }
  if (end.why === 'max_fail_percentage' && state.stopRequired)
    rule(reason.includes('max_fail_percentage'), 'max_fail_percentage stops the sweep and says why', () => `${sweep}: "${reason}"`);
  const left = state.input.jobCount - state.recorded.size;
  // Quarantined after the last job ended: nothing was cut short, nothing to say.
  if (end.why === 'every node quarantined' && left > 0) {
    const says = `every node is quarantined; ${left} job${left === 1 ? '' : 's'} not run`;
    rule(
      reason === says,
      'a sweep whose every node is quarantined stops and says how many jobs did not run',
      () => `${sweep}: "${reason}", expected "${says}"`,
    );
  }
  // A job that ran keeps its last result even where the sweep stops before its retry (every node quarantined, a threshold).
  if (!state.cancelled) {
    const unrecorded = [...state.jobs].filter(([jobId, history]) => history.live === null && !history.lastWithdrawn && !state.recorded.has(jobId));
    rule(unrecorded.length === 0, 'a job that ran has its final record', () => `${sweep}: ${unrecorded.map(([jobId]) => jobId).join(', ')} ran, not recorded`);
  }
  const everyJobRecorded = !state.cancelled && state.recorded.size === state.input.jobCount;
  if (end.ranToEnd || everyJobRecorded)
    rule(input.stoppedReason === undefined, 'a sweep that ran to its end has no stopped_reason', () => `${sweep}: "${reason}"`);
  const ran = state.mode === 'unbatched' ? Math.min(1, state.loaded) : state.batch;
  const batchesOk = end.ranToEnd || state.mode === 'unbatched' ? input.batches === ran : input.batches === ran || input.batches === ran + 1;
  rule(batchesOk, 'the Results JSON counts the batches that ran', () => `${sweep}: ${input.batches}, batches with starts ${ran}`);
}

/** Every node with GPUs is quarantined or left out by pre-flight: none can come back by itself. */
function everyNodeQuarantined(state: OracleState): boolean {
  return [...state.nodes.values()].every((node) => node.quarantined || node.preflightOut);
}

/** The sweep's end: cancelled exactly when it was, with results unless cancelled before it was planned. */
export function judgeSweepOver(state: OracleState, decision: Extract<Decision, { type: 'sweepOver' }>): void {
  rule(
    decision.cancelled === state.cancelled,
    'a sweep ends cancelled exactly when it was cancelled',
    () => `${state.input.sweep}: ended cancelled ${decision.cancelled}`,
  );
  rule(
    (decision.results === null) === (state.cancelled && !state.planned),
    'a sweep ends with its Results JSON unless cancelled before it was planned',
    () => `${state.input.sweep}: results ${decision.results === null ? 'none' : 'given'}`,
  );
}

/** A failed sweep says why by its error type: a node that failed its probe under "fail", else pre-flight. */
export function judgeFailSweep(state: OracleState, decision: Extract<Decision, { type: 'failSweep' }>): void {
  const expected = state.mustFailForHealth ? 'NodeUnhealthy' : 'PreflightFailed';
  rule(decision.errorType === expected, 'a failed sweep names its cause', () => `${state.input.sweep}: ${decision.errorType}, expected ${expected}`);
}
