/**
 * Before every batch but the first, each node in service is probed: reachable, and its
 * `health_command` passes. A node that fails is left out of that batch — its jobs go to the
 * others — and re-admitted once a probe passes; one that fails `quarantine_after` probes in a row
 * is quarantined for the rest of the sweep, with the reason in the result. `node_health.on_failure`
 * may instead wait for the node, or fail the sweep.
 */
import { ApplicationFailure, patched, sleep } from '@temporalio/workflow';
import type { SweepPlan } from '../shared/sweep-plan';
import { nodeUpkeep } from './activity-proxies';
import { allSettledOrThrow, unlessCancelled } from './cancellation';
import type { SweepTracker } from './sweep-tracker';

export async function probeNodes(plan: SweepPlan, batchNumber: number, tracker: SweepTracker): Promise<void> {
  const policy = plan.nodeHealth;
  // Behind a patch: runs recorded before probes existed must replay without them.
  if (!policy?.probe_before_batch || !patched('probe-nodes-before-batch')) return;
  const { steering } = tracker;
  let candidates = plan.nodes.filter((node) => !steering.quarantined.has(node.name) && !steering.isExcludedByOperator(node));
  for (;;) {
    const probes = await allSettledOrThrow(
      candidates.map((node) =>
        nodeUpkeep.probeNode
          .executeWithOptions({ summary: `probe ${node.name} before batch ${batchNumber}` }, [node])
          .catch(unlessCancelled((error) => ({ node: node.name, ok: false, message: `probe failed: ${error.message}` }))),
      ),
    );
    const failing: string[] = [];
    for (const probe of probes) {
      const verdict = steering.probed(probe.node, probe.ok, probe.message, policy.quarantine_after);
      if (verdict === 'healthy') continue;
      tracker.record({ kind: 'probe', batch: batchNumber, node: probe.node, verdict, message: probe.message });
      if (verdict === 'left out') failing.push(probe.node);
      if (verdict === 'left out') tracker.warnings.push(`before batch ${batchNumber}: ${probe.node} left out: ${probe.message}`);
      if (verdict === 'quarantined') tracker.warnings.push(`before batch ${batchNumber}: ${probe.node} quarantined: ${steering.quarantined.get(probe.node)}`);
    }
    if (failing.length === 0 || policy.on_failure === 'redistribute') return;
    if (policy.on_failure === 'fail') {
      const why = failing.map((node) => `${node} (${probes.find((probe) => probe.node === node)?.message})`).join(', ');
      throw ApplicationFailure.nonRetryable(`before batch ${batchNumber}: ${why} failed the health probe; node_health.on_failure is "fail"`, 'NodeUnhealthy');
    }
    tracker.waitingFor = `${failing.join(', ')} to pass the health probe (node_health.on_failure is "wait")`;
    tracker.refreshDetails();
    await sleep(policy.wait_seconds * 1000, { summary: `wait for ${failing.join(', ')}` });
    tracker.waitingFor = null;
    candidates = candidates.filter((node) => failing.includes(node.name));
  }
}
