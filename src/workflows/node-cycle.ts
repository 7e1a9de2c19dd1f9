/**
 * Rolling mode, per node: after its per-batch cap of job starts a node starts nothing more until
 * its running jobs have ended; then the rig drops its caches (localhost has no allocator reset)
 * and cools down — the seed proposal's rhythm, kept per rig, while the other nodes keep working
 * instead of waiting at a cluster-wide barrier for the slowest one.
 */
import { shownBatch } from '../shared/planner';
import { condition } from '@temporalio/workflow';
import type { SweepNode } from '../shared/nodes';
import type { GpuLanes } from './gpu-lanes';
import type { BatchContext } from './job-attempt';
import type { SweepTracker } from './sweep-tracker';
import { coolDown, resetRigs } from './upkeep';

/** The node has started its cap of jobs since its last cycle. */
export function cycleDue(node: SweepNode, tracker: SweepTracker): boolean {
  return (tracker.cycleStarts.get(node.name) ?? 0) >= tracker.steering.settings!.max_jobs_per_node_per_batch;
}

/** Drain, reset (rigs only), cool down; then the node's count starts again. */
export async function cycleNode(node: SweepNode, lanes: GpuLanes, context: BatchContext): Promise<void> {
  const { tracker, plan, batch } = context;
  const starts = tracker.cycleStarts.get(node.name) ?? 0;
  await condition(() => lanes.idle());
  if (plan.resetBetweenBatches && !node.isLocal) {
    const labels = { batch: shownBatch(batch), resetSummary: () => `reset ${node.name} after ${starts} jobs`, warningPrefix: `${node.name} after ${starts} jobs` };
    await resetRigs([node], labels, tracker);
  }
  const seconds = tracker.steering.settings!.inter_batch_cooldown_seconds;
  if (seconds > 0) await coolDown([node], seconds, { batch: shownBatch(batch), summary: `cooldown ${node.name}`, node: node.name }, tracker);
  tracker.cycleStarts.set(node.name, 0);
}
