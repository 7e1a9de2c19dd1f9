/**
 * rigsweep's workflow-side metrics, emitted through the workflow's metric meter: the SDK forwards
 * them to the worker's Prometheus endpoint (adding `namespace`, `task_queue` and `workflow_type`)
 * and skips them while a history replays, so a worker restart does not count a cooldown twice.
 */
import { metricMeter } from '@temporalio/workflow';
import type { NodeState } from '../shared/progress';

/** Kept in step with the bucket overrides in src/metrics/install-metrics.ts (a test checks it). */
export const SWEEP_METRICS = {
  cooldown: 'rigsweep_cooldown_seconds',
  nodeState: 'rigsweep_node_state',
} as const;

/** Every state a node can be in; typed so that a new NodeState cannot be forgotten here. */
const NODE_STATES: Record<NodeState, true> = {
  ok: true,
  running: true,
  resetting: true,
  'cooling down': true,
  'left out': true,
  excluded: true,
  quarantined: true,
};

/**
 * One gauge value per state, as kube-state-metrics does: 1 for the node's state, 0 for the others,
 * so `rigsweep_node_state{state="running"} == 1` selects the nodes running now.
 */
export function nodeStateValues(state: NodeState): { state: NodeState; value: 0 | 1 }[] {
  return (Object.keys(NODE_STATES) as NodeState[]).map((candidate) => ({ state: candidate, value: candidate === state ? 1 : 0 }));
}

/**
 * A cooldown between batches, in seconds. A histogram, not a counter: the SDK's counters take
 * whole numbers and cooldowns may be fractional; its `_sum` is the time spent cooling down.
 */
export function recordCooldown(seconds: number): void {
  metricMeter
    .createHistogram(SWEEP_METRICS.cooldown, 'float', 's', 'cooldowns between batches; _sum is the time spent cooling down')
    .record(Math.max(0, seconds));
}

/** What a node does now; with several sweeps on one node, the last one to change it wins. */
export function recordNodeState(node: string, state: NodeState): void {
  const gauge = metricMeter.createGauge(SWEEP_METRICS.nodeState, 'int', '', 'node state: 1 for the state the node is in, 0 for the others');
  for (const { state: candidate, value } of nodeStateValues(state)) gauge.set(value, { node, state: candidate });
}
