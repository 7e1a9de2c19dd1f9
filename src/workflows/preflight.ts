/**
 * Pre-flight, once per run before the first batch: every node is checked (reachable; HIP kernel
 * cache cleared on ROCm nodes), then each node's warm-up runs one GPU at a time. An unreachable
 * node is left out of this sweep with a warning — its jobs go to the others — unless
 * `preflight.required` asks to fail instead.
 */
import { ApplicationFailure, workflowInfo } from '@temporalio/workflow';
import type { SweepNode } from '../shared/nodes';
import { planBatches } from '../shared/planner';
import type { SweepPlan } from '../shared/sweep-plan';
import { nodeUpkeep, upkeep } from './activity-proxies';
import { allSettledOrThrow, unlessCancelled } from './cancellation';
import type { SweepTracker } from './sweep-tracker';

/** The plan to run with: only reachable nodes, batches planned again when one was left out. */
export async function preflight(plan: SweepPlan, tracker: SweepTracker): Promise<SweepPlan> {
  if (!plan.preflight.enabled) return plan;
  tracker.phase = 'pre-flight';
  const results = await allSettledOrThrow(
    plan.nodes.map((node) =>
      upkeep.checkNode({ node, clearHipCache: plan.preflight.clear_hip_cache }).catch(
        unlessCancelled((error) => ({ node: node.name, reachable: false, latency_ms: null, hip_cache_cleared: null, message: `unreachable: ${error.message}` })),
      ),
    ),
  );
  for (const check of results) {
    tracker.preflight.push(check);
    tracker.record({ kind: 'preflight', node: check.node, ok: check.reachable, message: check.message });
  }
  const unreachable = results.filter((check) => !check.reachable);
  const nodes = plan.nodes.filter((node) => results.find((check) => check.node === node.name)?.reachable);
  const report = unreachable.map((check) => `${check.node} (${check.message})`).join(', ');
  if (unreachable.length && plan.preflight.required) {
    throw ApplicationFailure.nonRetryable(`pre-flight failed: ${report}; preflight.required is set`, 'PreflightFailed');
  }
  if (nodes.length === 0) throw ApplicationFailure.nonRetryable(`pre-flight failed: no node can be reached: ${report}`, 'PreflightFailed');
  for (const check of unreachable) tracker.warnings.push(`pre-flight: ${check.node} left out of this sweep: ${check.message}`);
  await allSettledOrThrow(nodes.filter((node) => node.warmupCommand).map((node) => warmUp(node, plan, tracker)));
  return nodes.length === plan.nodes.length ? plan : { ...plan, nodes, ...planBatches(plan.totalJobs, nodes.length, plan.batching) };
}

/** One GPU at a time: warm-ups exist because simultaneous HIP initialisations freeze rigs. */
async function warmUp(node: SweepNode, plan: SweepPlan, tracker: SweepTracker): Promise<void> {
  const timeoutSeconds = plan.preflight.warmup_timeout_seconds;
  for (let gpu = 0; gpu < node.gpuCount; gpu++) {
    const result = await nodeUpkeep.warmupGpu.executeWithOptions(
      { startToCloseTimeout: `${timeoutSeconds + 60} seconds`, summary: `warm-up ${node.name} GPU ${gpu}` },
      [{ node, gpu, runId: plan.runId, sweepId: workflowInfo().workflowId, timeoutSeconds }],
    );
    tracker.record({ kind: 'preflight', node: node.name, gpu, ok: result.ok, message: result.message });
    if (!result.ok) tracker.warnings.push(`pre-flight: ${node.name} GPU ${gpu}: ${result.message}`);
  }
}
