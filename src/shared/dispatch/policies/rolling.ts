/**
 * Rolling batches: the seed's rhythm kept per rig, without the cluster-wide barrier. Each node
 * counts the jobs it starts; after `max_jobs_per_node_per_batch` of them it starts nothing more
 * until its jobs have ended, then the rig resets and cools down on its own while the others keep
 * working. At most `max_jobs_per_batch` jobs run at once over the cluster. Jobs are read in
 * segments of 100, which drain at their end. Pure code.
 */
import type { BatchPolicy } from './policy';
import { jobsLeft, running, SEGMENT_JOBS, segmentsLeft } from './segments';

export const rollingPolicy: BatchPolicy = {
  mode: 'rolling',
  plannedBatchSize: () => SEGMENT_JOBS,
  upkeepScope: 'node',
  grows: false,
  // A node drains before its reset: a standby would delay it.
  standbys: false,
  stopsOnFailures: true,
  nextBatch: (state) => ({ load: Math.min(SEGMENT_JOBS, jobsLeft(state)), perNodeCap: null }),
  batchNumber: (index) => index + 1,
  batchCount: (state) => state.batchesBegun + segmentsLeft(state),
  mayStart: (state) => running(state) < state.settings.max_jobs_per_batch,
  upkeepDue: (state, node) => node !== undefined && state.nodes[node].cycleStarts >= state.settings.max_jobs_per_node_per_batch,
};
