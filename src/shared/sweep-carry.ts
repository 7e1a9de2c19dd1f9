/**
 * What one run of a long sweep hands the next when it continues as new, at a point where nothing
 * runs (a barrier, or the end of a segment): the plan, where the job list stands, and what the
 * sweep has counted, warned and been told so far. Plain JSON and small: per-job records live in
 * results.jsonl, never here.
 */
import type { LiveSettings, NodeProgress, SweepEvent } from './progress';
import type { NodeCheck } from './results';
import type { SweepPlan } from './sweep-plan';

export interface SweepCarry {
  plan: SweepPlan;
  /** 0-based index of the next batch (or segment). */
  nextBatch: number;
  /** First job index not yet started. */
  nextJob: number;
  startedAtMs: number;
  sweepName: string;
  counts: { done: number; failed: number; retries: number; batchCount: number };
  /** At most MAX_CARRIED_WARNINGS, the newest kept. */
  warnings: string[];
  preflight: NodeCheck[];
  /** The event log's newest lines and numbering, so a follower polling across the hand-over misses nothing. */
  events: SweepEvent[];
  nodes: Pick<NodeProgress, 'name' | 'done' | 'failed' | 'lastFinished' | 'state'>[];
  /** Rolling mode: jobs each node started since its last reset. */
  cycleStarts: Record<string, number>;
  steering: {
    pauseRequested: boolean;
    settings: LiveSettings | null;
    replanNeeded: boolean;
    /** Excluded GPUs per node, `all` for a whole node. */
    excluded: Record<string, number[] | 'all'>;
    /** Probe outcomes: nodes left out until they pass, failures in a row, quarantined nodes (with why). */
    probes?: { leftOut: Record<string, string>; failures: Record<string, number>; quarantined: Record<string, string> };
  };
}

/** Warnings are kept in the result; a sweep that warns at every batch must not grow its payload forever. */
export const MAX_CARRIED_WARNINGS = 200;

/** Enough for a follower that polls every half second to miss nothing across the hand-over. */
export const CARRIED_EVENTS = 100;
