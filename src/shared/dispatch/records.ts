/**
 * Final job records go to the run folder as they come, 50 to an append (so a cut-short sweep keeps
 * what it did and no payload passes Temporal's 512 KB warning), one append at a time; the
 * timeline's spans ride with the next append. Between batches and before the end, everything
 * left is appended. Pure code.
 */
import type { WriteResultsInput } from '../results';
import { MAX_CARRIED_WARNINGS, type PlannedState } from './state';
import { workOf, type Step } from './step';

/** Records per append: at most ~4 KB each (stderr tails, diagnoses), so an append stays far below 512 KB. */
export const RECORDS_PER_APPEND = 50;

/** Appends a chunk when one is due: a full one, or (`flush`) whatever is left. Returns true while records remain or are on their way. */
export function recordDue(step: Step, flush: boolean): boolean {
  const { state } = step;
  if (workOf(state, 'record').length > 0) return true;
  const due = state.unrecorded.length >= RECORDS_PER_APPEND || (flush && (state.unrecorded.length > 0 || state.timeline.length > 0));
  if (!due) return false;
  const results = state.unrecorded.splice(0, RECORDS_PER_APPEND);
  const timeline = state.timeline.splice(0);
  step.begin({ kind: 'record' }, (work) => ({
    type: 'record',
    work,
    results,
    timeline,
    summary: `batch ${state.shown?.number ?? 1}: record ${results.length} results`,
  }));
  return true;
}

/** What the Results JSON is written from. */
export function resultsInput(step: Step<PlannedState>, stoppedReason: string | null, batches: number): WriteResultsInput {
  const { state } = step;
  return {
    plan: state.plan,
    startedAtMs: state.startedAtMs,
    warnings: state.warnings.slice(-MAX_CARRIED_WARNINGS),
    ...(stoppedReason ? { stoppedReason } : {}),
    preflight: state.preflight,
    batches,
    quarantined: Object.entries(state.steering.quarantined).map(([node, reason]) => ({ node, reason })),
  };
}
