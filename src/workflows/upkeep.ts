/**
 * What rigs get between runs of jobs, in either rhythm: `sync; drop_caches` on each rig (a failure
 * is a warning, never fatal), then a durable cooldown. Barrier mode does it for every rig at
 * once between batches; rolling mode for one node at a time, after its per-batch cap of jobs.
 */
import { sleep } from '@temporalio/workflow';
import type { SweepNode } from '../shared/nodes';
import { nodeUpkeep } from './activity-proxies';
import { allSettledOrThrow, unlessCancelled } from './cancellation';
import { recordCooldown } from './sweep-metrics';
import type { SweepTracker } from './sweep-tracker';

export interface UpkeepLabels {
  /** 1-based: the batch (or, in rolling mode, the segment) the upkeep belongs to. */
  batch: number;
  /** Temporal Web's summary of the reset of `node`. */
  resetSummary: (node: SweepNode) => string;
  /** Where a failed reset's warning says it happened, e.g. `before batch 3`. */
  warningPrefix: string;
}

/** Resets the rigs in parallel; every outcome goes to the event log, the timeline and, when failed, the warnings. */
export async function resetRigs(rigs: SweepNode[], labels: UpkeepLabels, tracker: SweepTracker): Promise<void> {
  tracker.nodes.setUpkeep(rigs.map((node) => node.name), 'resetting');
  tracker.refreshDetails();
  const resetStart = Date.now();
  // The rig keeps its own quiet window too, so no other sweep starts a job there during this cooldown.
  const cooldownSeconds = tracker.steering.settings!.inter_batch_cooldown_seconds;
  const outcomes = await allSettledOrThrow(
    rigs.map((node) =>
      nodeUpkeep.resetNode
        .executeWithOptions({ summary: labels.resetSummary(node) }, [node, cooldownSeconds])
        .catch(unlessCancelled((error) => ({ node: node.name, ok: false, message: `reset failed: ${error.message}` })))
        .then((outcome) => {
          tracker.nodes.setUpkeep([node.name], null);
          tracker.refreshDetails();
          tracker.addTimeline({ kind: 'reset', batch: labels.batch, node: node.name, start_ms: resetStart, end_ms: Date.now(), ok: outcome.ok });
          return outcome;
        }),
    ),
  );
  for (const outcome of outcomes) {
    tracker.record({ kind: 'reset', batch: labels.batch - 1, ...outcome });
    if (!outcome.ok) tracker.warnings.push(`${labels.warningPrefix}: ${outcome.node}: ${outcome.message}`);
  }
}

/** A durable cooldown; `node` names the one node cooling down in rolling mode (all of `nodes` otherwise). */
export async function coolDown(nodes: SweepNode[], seconds: number, labels: { batch: number; summary: string; node?: string }, tracker: SweepTracker): Promise<void> {
  const names = nodes.map((node) => node.name);
  tracker.nodes.setUpkeep(names, 'cooling down');
  recordCooldown(seconds);
  tracker.record({ kind: 'cooldown', batch: labels.batch - 1, seconds, ...(labels.node ? { node: labels.node } : {}) });
  const cooldownStart = Date.now();
  await sleep(seconds * 1000, { summary: labels.summary });
  tracker.nodes.setUpkeep(names, null);
  tracker.refreshDetails();
  tracker.addTimeline({ kind: 'cooldown', batch: labels.batch, start_ms: cooldownStart, end_ms: Date.now(), ...(labels.node ? { node: labels.node } : {}) });
}
