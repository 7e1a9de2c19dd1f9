/**
 * A batching mode is a small policy over the one dispatcher core: how the next batch is cut from
 * the job list, what bounds a node's starts, and whether nodes drain, reset and cool down between
 * batches, on their own rhythm, or never. Everything else — lanes, staggers, standbys, retries,
 * exclusions, lost nodes, pause, cancel — is the core's and the same in every mode. Pure code.
 */
import type { SweepState } from '../state';

export interface NextBatch {
  /** Jobs to load from the list (leftovers of the batch before are queued already). */
  load: number;
  /** First attempts one node may start in it; null when unlimited. */
  perNodeCap: number | null;
}

export interface BatchPolicy {
  readonly mode: string;
  /** The batch that begins now: how many jobs to read, and the per-node cap. */
  nextBatch(state: SweepState): NextBatch;
  /** Its batches are segments of the job list (read 100 at a time), not batches planned up front. */
  readonly segmented: boolean;
  /** Between batches every rig resets and the cluster cools down (not before the first). */
  readonly upkeepBetweenBatches: boolean;
  /** The batch takes the next jobs while it runs, so lanes never idle at a segment's end. */
  readonly grows: boolean;
  /** Busy GPUs of unstaggered nodes take their next job ahead, as a standby. */
  readonly standbys: boolean;
  /** A batch that failed above max_fail_percentage stops the sweep. */
  readonly stopsOnFailures: boolean;
  /** 1-based number users see for the batch with this index. */
  batchNumber(index: number): number;
  /** How many batches users are told the sweep has, once `state.batch` began. */
  batchCount(state: SweepState): number;
  /** May this node start an attempt (`first`: the job's first) now, by the mode's caps? */
  mayStart(state: SweepState, node: string, first: boolean): boolean;
  /** Rolling: the node ran its cycle and must drain, reset and cool down before it starts again. */
  cycleDue(state: SweepState, node: string): boolean;
}
