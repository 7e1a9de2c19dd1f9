/**
 * No batches (batching off, or a sweep of at most `max_jobs_per_batch` jobs): one batch to its
 * users, fed in segments that grow while they run — when fewer jobs wait than the nodes have
 * slots, the next segment is read and joins the queue — so no GPU idles at a segment's end. The
 * cluster drains only where the run continues as new or an operator paused it. Pure code.
 */
import type { BatchPolicy } from './policy';
import { jobsLeft, SEGMENT_JOBS } from './segments';

export const unbatchedPolicy: BatchPolicy = {
  mode: 'unbatched',
  plannedBatchSize: () => SEGMENT_JOBS,
  upkeepScope: 'none',
  grows: true,
  standbys: true,
  stopsOnFailures: false,
  nextBatch: (state) => ({ load: Math.min(SEGMENT_JOBS, jobsLeft(state)), perNodeCap: null }),
  batchNumber: () => 1,
  batchCount: () => 1,
  mayStart: () => true,
  upkeepDue: () => false,
};
