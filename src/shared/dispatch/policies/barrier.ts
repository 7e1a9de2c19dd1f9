/**
 * Barrier batches, the seed's proposal: fixed batches of at most `max_jobs_per_batch` jobs, each
 * node taking at most `max_jobs_per_node_per_batch` of them; every batch drains before the rigs
 * reset and the cluster cools down. A retry may go to any node: it replaces load the batch had.
 * Operators' new numbers or nodes re-plan the batches still to come. Pure code.
 */
import { activeNodes } from '../service';
import { jobsLeft } from './segments';
import type { BatchPolicy } from './policy';

export const barrierPolicy: BatchPolicy = {
  mode: 'barrier',
  segmented: false,
  upkeepBetweenBatches: true,
  grows: false,
  standbys: true,
  stopsOnFailures: true,
  nextBatch(state) {
    const plan = state.plan!;
    const planned = plan.batches[state.batchesBegun];
    const queued = state.queue.filter((entry) => entry.attempt === 1).length;
    if (!state.steering.replanNeeded && planned?.start === state.cursor && queued === 0) {
      return { load: planned.end - planned.start, perNodeCap: plan.perNodeCap };
    }
    const { max_jobs_per_batch, max_jobs_per_node_per_batch } = state.settings!;
    const size = Math.min(max_jobs_per_batch, max_jobs_per_node_per_batch * Math.max(1, activeNodes(state).length));
    return { load: Math.min(jobsLeft(state), Math.max(0, size - queued)), perNodeCap: max_jobs_per_node_per_batch };
  },
  batchNumber: (index) => index + 1,
  batchCount(state) {
    const plan = state.plan!;
    const begun = state.batchesBegun;
    if (!state.steering.replanNeeded && plan.batches[begun]?.start === state.cursor) return begun + plan.batches.length - begun;
    const { max_jobs_per_batch, max_jobs_per_node_per_batch } = state.settings!;
    const size = Math.min(max_jobs_per_batch, max_jobs_per_node_per_batch * Math.max(1, activeNodes(state).length));
    return begun + Math.ceil((plan.totalJobs - state.cursor) / size);
  },
  mayStart(state, node, first) {
    const cap = state.batch?.perNodeCap;
    return !first || cap === null || cap === undefined || state.nodes[node].firstStarts < cap;
  },
  cycleDue: () => false,
};
