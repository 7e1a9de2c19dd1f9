/** Where the job list stands, for the modes that read it in segments (no batching, rolling). Pure code. */
import type { PlannedState, SweepState } from '../state';

/**
 * Without barriers jobs are read in segments of this many: a segment's jobs travel in one payload
 * (about 1 KB each), and its end is where a long sweep may continue as new.
 */
export const SEGMENT_JOBS = 100;

/** Jobs of the list not yet read. */
export function jobsLeft(state: PlannedState): number {
  return state.plan.totalJobs - state.cursor;
}

/** Segments still to come, this one included. */
export function segmentsLeft(state: PlannedState): number {
  return Math.ceil(jobsLeft(state) / SEGMENT_JOBS);
}

/** Attempts that hold a GPU now, over the whole cluster. */
export function running(state: SweepState): number {
  return state.counts.running;
}
