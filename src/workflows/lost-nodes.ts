/**
 * A node lost mid-batch: one of its jobs came back as an SSH_ERROR — the rig stayed away until the
 * job's lease ran out, or refused us. The node takes no more jobs (its queued work and the lost
 * job's retry go to the other nodes) and is probed every few seconds while the batch runs; it
 * takes jobs again once a probe passes, as it would before the next batch, and is quarantined
 * after `quarantine_after` failed probes.
 */
import { shownBatch } from '../shared/planner';
import { condition, patched } from '@temporalio/workflow';
import type { AttemptResult } from '../shared/results';
import { nodeUpkeep } from './activity-proxies';
import { heldForLater, unlessCancelled } from './cancellation';
import type { BatchContext } from './job-attempt';

/** Seconds between probes of a node lost mid-batch. */
const REPROBE_SECONDS = 5;

export function leaveOutLostNode(result: AttemptResult, context: BatchContext): void {
  const { tracker, plan, batch } = context;
  const node = plan.nodes.find((candidate) => candidate.name === result.node);
  // Behind a patch: runs recorded before this rule must replay without its probes.
  if (!node || tracker.steering.probeVerdict(node.name) || !patched('leave-out-lost-nodes')) return;
  const message = result.error ?? 'lost contact';
  tracker.steering.lostContact(node.name, message);
  tracker.record({ kind: 'probe', batch: shownBatch(batch), node: node.name, verdict: 'left out', message });
  tracker.warnings.push(`batch ${shownBatch(batch)}: ${node.name} left out: ${message}`);
  tracker.refreshDetails();
  context.background.push(heldForLater(probeUntilBack(node.name, context)));
}

async function probeUntilBack(name: string, context: BatchContext): Promise<void> {
  const { tracker, plan, batch } = context;
  const node = plan.nodes.find((candidate) => candidate.name === name)!;
  while (tracker.steering.probeVerdict(name) === 'left out') {
    if (await condition(() => context.over, REPROBE_SECONDS * 1000)) return;
    const probe = await nodeUpkeep.probeNode
      .executeWithOptions({ summary: `probe ${name}, lost in batch ${shownBatch(batch)}` }, [node])
      .catch(unlessCancelled((error) => ({ node: name, ok: false, message: `probe failed: ${error.message}` })));
    if (context.over) return;
    // Failed probes count as before a batch: a node that stays away is quarantined, and a retry
    // waiting for it gets its final result instead.
    const verdict = tracker.steering.probed(name, probe.ok, probe.message, plan.nodeHealth?.quarantine_after ?? 3);
    if (verdict === 'left out') continue;
    tracker.record({ kind: 'probe', batch: shownBatch(batch), node: name, verdict: verdict === 'healthy' ? 'readmitted' : verdict, message: probe.message });
    if (verdict === 'quarantined') tracker.warnings.push(`batch ${shownBatch(batch)}: ${name} quarantined: ${tracker.steering.quarantined.get(name)}`);
    tracker.refreshDetails();
  }
}
