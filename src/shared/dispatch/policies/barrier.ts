/**
 * Barrier batches, the seed's proposal: fixed batches of at most `max_jobs_per_batch` jobs, each
 * node taking at most `max_jobs_per_node_per_batch` of them; every batch drains before the rigs
 * reset and the cluster cools down. A retry may go to any node: it replaces load the batch had.
 * Operators' new numbers or nodes re-plan the batches still to come. Pure code.
 */
import { activeNodes } from '../service';
import type { ServingState } from '../state';
import { jobsLeft } from './segments';
import type { BatchPolicy } from './policy';

/**
 * A barrier batch's size — the one place it is computed: at most `max_jobs_per_batch` jobs, and
 * never more than every node's per-batch cap added up, so the nodes it is planned for can always
 * finish it.
 */
export function barrierBatchSize(maxJobsPerBatch: number, maxJobsPerNode: number, nodeCount: number): number {
  return Math.min(maxJobsPerBatch, maxJobsPerNode * Math.max(1, nodeCount));
}

/** The size by the operators' numbers in force, over the nodes in service now. */
function liveBatchSize(state: ServingState): number {
  const { max_jobs_per_batch, max_jobs_per_node_per_batch } = state.settings;
  return barrierBatchSize(max_jobs_per_batch, max_jobs_per_node_per_batch, activeNodes(state).length);
}

export const barrierPolicy: BatchPolicy = {
  mode: 'barrier',
  plannedBatchSize: (batching, nodeCount) => barrierBatchSize(batching.max_jobs_per_batch, batching.max_jobs_per_node_per_batch, nodeCount),
  upkeepScope: 'cluster',
  grows: false,
  standbys: true,
  stopsOnFailures: true,
  nextBatch(state) {
    const plan = state.plan;
    const planned = plan.batches[state.batchesBegun];
    const queued = state.queue.filter((entry) => entry.attempt === 1).length;
    if (!state.steering.replanNeeded && planned?.start === state.cursor && queued === 0) {
      return { load: planned.end - planned.start, perNodeCap: plan.perNodeCap };
    }
    return { load: Math.min(jobsLeft(state), Math.max(0, liveBatchSize(state) - queued)), perNodeCap: state.settings.max_jobs_per_node_per_batch };
  },
  batchNumber: (index) => index + 1,
  batchCount(state) {
    const plan = state.plan;
    const begun = state.batchesBegun;
    if (!state.steering.replanNeeded && plan.batches[begun]?.start === state.cursor) return begun + plan.batches.length - begun;
    return begun + Math.ceil((plan.totalJobs - state.cursor) / liveBatchSize(state));
  },
  mayStart(state, node, first) {
    const cap = state.batch?.perNodeCap;
    return !first || cap === null || cap === undefined || state.nodes[node].firstStarts < cap;
  },
  upkeepDue: () => true,
};
