/**
 * Which nodes and GPUs may take jobs now: not excluded by an operator, not left out after a failed
 * probe or a lost link, not quarantined. And the numbers in force for each node. Pure code.
 */
import type { SweepNode } from '../nodes';
import type { PlannedState, SweepState } from './state';

export function isGpuExcluded(state: SweepState, node: string, gpu: number): boolean {
  const { steering } = state;
  if (steering.leftOut[node] !== undefined || steering.quarantined[node] !== undefined) return true;
  const out = steering.excluded[node];
  return out === 'all' || (out?.includes(gpu) ?? false);
}

/** Out of service: excluded as a whole, or every one of its GPUs is. */
export function isNodeOut(state: SweepState, node: SweepNode): boolean {
  return Array.from({ length: node.gpuCount }, (_, gpu) => gpu).every((gpu) => isGpuExcluded(state, node.name, gpu));
}

export function excludedGpus(state: SweepState, node: SweepNode): number[] {
  return Array.from({ length: node.gpuCount }, (_, gpu) => gpu).filter((gpu) => isGpuExcluded(state, node.name, gpu));
}

/** The nodes of the plan that may take jobs now. */
export function activeNodes(state: PlannedState): SweepNode[] {
  return state.plan.nodes.filter((node) => !isNodeOut(state, node));
}

/** Why a node takes no job for now when a probe failed or it is quarantined; else undefined. */
export function probeVerdict(state: SweepState, node: string): 'left out' | 'quarantined' | undefined {
  if (state.steering.quarantined[node] !== undefined) return 'quarantined';
  return state.steering.leftOut[node] !== undefined ? 'left out' : undefined;
}

/** The node's stagger in force: an operator may have changed it. */
export function staggerSeconds(state: SweepState, node: SweepNode): number {
  return state.settings?.stagger_delay[node.name] ?? node.staggerSeconds;
}

/** Records a probe and says what it means for the node. */
export function probed(
  state: SweepState,
  node: string,
  ok: boolean,
  message: string,
  quarantineAfter: number,
): 'healthy' | 'readmitted' | 'left out' | 'quarantined' {
  const { steering } = state;
  if (ok) {
    const wasOut = steering.leftOut[node] !== undefined;
    delete steering.leftOut[node];
    delete steering.probeFailures[node];
    if (wasOut) steering.replanNeeded = true;
    return wasOut ? 'readmitted' : 'healthy';
  }
  const failures = (steering.probeFailures[node] ?? 0) + 1;
  steering.probeFailures[node] = failures;
  steering.replanNeeded = true;
  if (failures >= quarantineAfter) {
    delete steering.leftOut[node];
    steering.quarantined[node] = `failed ${failures} probes in a row; last: ${message}`;
    return 'quarantined';
  }
  steering.leftOut[node] = message;
  return 'left out';
}
