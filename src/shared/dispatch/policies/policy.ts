/**
 * A batching mode is a small policy over the one dispatcher core: how the next batch is cut from
 * the job list, what bounds a node's starts, and the scope of its upkeep — the whole cluster
 * between batches, each node on its own rhythm, or none — and when that is due. The upkeep itself
 * (drain, reset, cool down, probe: upkeep.ts), lanes, staggers, standbys, retries, exclusions,
 * lost nodes, pause, cancel are the core's and the same in every mode. Pure code.
 */
import type { JobBatching } from '../../config';
import type { ServingState } from '../state';

export interface NextBatch {
  /** Jobs to load from the list (leftovers of the batch before are queued already). */
  load: number;
  /** First attempts one node may start in it; null when unlimited. */
  perNodeCap: number | null;
}

export interface BatchPolicy {
  readonly mode: string;
  /** The batch that begins now: how many jobs to read, and the per-node cap. */
  nextBatch(state: ServingState): NextBatch;
  /** Jobs in each range the planner cuts the list into up front: a batch, or a segment (read 100 at a time). */
  plannedBatchSize(batching: JobBatching, nodeCount: number): number;
  /**
   * Where its nodes drain, reset and cool down: the whole cluster at once between batches, each
   * node on its own, or nowhere (the cluster is still paused and probed between batches).
   */
  readonly upkeepScope: 'cluster' | 'node' | 'none';
  /** The batch takes the next jobs while it runs, so lanes never idle at a segment's end. */
  readonly grows: boolean;
  /** Busy GPUs of unstaggered nodes take their next job ahead, as a standby. */
  readonly standbys: boolean;
  /** A batch that failed above max_fail_percentage stops the sweep. */
  readonly stopsOnFailures: boolean;
  /** 1-based number users see for the batch with this index. */
  batchNumber(index: number): number;
  /** How many batches users are told the sweep has, once `state.batch` began. */
  batchCount(state: ServingState): number;
  /** May this node start an attempt (`first`: the job's first) now, by the mode's caps? */
  mayStart(state: ServingState, node: string, first: boolean): boolean;
  /** Upkeep is due: between these batches (`node` absent), or for this node before it starts again. */
  upkeepDue(state: ServingState, node?: string): boolean;
}
