/**
 * The batch planner: which jobs go together, and how many of them one node may take.
 *
 * The seed's proposal in numbers: at most 20 jobs per batch and at most 6 per node per batch, so
 * no rig ever manages more than a handful of starting jobs; a sweep that fits in one batch runs
 * without batching overhead. Batches are contiguous ranges of the job list, so an activity can load
 * a batch's jobs by index instead of the workflow carrying the whole list. Pure code.
 */
import type { JobBatching } from './config';
import { policyNamed } from './dispatch/policies';
import { SEGMENT_JOBS } from './dispatch/policies/segments';

export { SEGMENT_JOBS };

export interface BatchRange {
  /** 0-based; shown to users as `index + 1`. */
  index: number;
  /** First job index of the batch. */
  start: number;
  /** One past the last job index. */
  end: number;
}

export interface BatchPlan {
  batches: BatchRange[];
  /** Jobs one node may start within one batch; null when unlimited (a single batch). */
  perNodeCap: number | null;
  /** Reset the rigs and cool down between batches (never before the first). */
  resetBetweenBatches: boolean;
  cooldownSeconds: number;
}

/**
 * Splits `jobCount` jobs over `nodeCount` usable nodes. A batch holds at most
 * `max_jobs_per_batch` jobs and never more than every node's per-batch cap added up, so each
 * batch can always be finished by the nodes it was planned for. In rolling mode the "batches" are
 * segments of the job list; the caps apply to each node's own cycle instead.
 */
export function planBatches(jobCount: number, nodeCount: number, batching: JobBatching): BatchPlan {
  const unbatched = !batching.enabled || jobCount <= batching.max_jobs_per_batch;
  if (unbatched || nodeCount < 1) {
    return {
      batches: ranges(jobCount, SEGMENT_JOBS),
      perNodeCap: null,
      resetBetweenBatches: false,
      cooldownSeconds: 0,
    };
  }
  const perNodeCap = batching.max_jobs_per_node_per_batch;
  const batchSize = policyNamed(batching.mode).segmented ? SEGMENT_JOBS : Math.min(batching.max_jobs_per_batch, perNodeCap * nodeCount);
  return {
    batches: ranges(jobCount, batchSize),
    perNodeCap,
    resetBetweenBatches: batching.allocator_reset_between_batches,
    cooldownSeconds: batching.inter_batch_cooldown_seconds,
  };
}

/**
 * How many batches users are told a plan has: a sweep without batches is one batch, whatever the
 * number of segments it is fed in.
 */
export function shownBatchCount(plan: BatchPlan): number {
  return plan.perNodeCap === null ? Math.min(1, plan.batches.length) : plan.batches.length;
}

/** Contiguous ranges of at most `size` jobs. */
function ranges(jobCount: number, size: number): BatchRange[] {
  const batches: BatchRange[] = [];
  for (let start = 0; start < jobCount; start += size) batches.push({ index: batches.length, start, end: Math.min(jobCount, start + size) });
  return batches;
}
