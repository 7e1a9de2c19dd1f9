/**
 * The probe as an activity: the one probe script (src/rigs/node-probe.ts), run so that it
 * heartbeats and a cancel kills it on the node. Never throws but for a cancel: the core decides
 * what an unreachable or unhealthy node means.
 */
import { CancelledFailure } from '@temporalio/common';
import type { SweepNode } from '../shared/nodes';
import type { NodeProbe } from '../shared/results';
import { probeScript, PROBE_TIMEOUT_MS, readProbe, unreachableProbe, type ProbeAsk } from '../rigs/node-probe';
import type { NodeShell } from '../rigs/node-shell';
import { runKillable, withStartMarker } from './killable-command';

export async function probeNodeActivity(shell: NodeShell, node: SweepNode, ask: ProbeAsk): Promise<NodeProbe> {
  const started = Date.now();
  try {
    const exit = await runKillable(shell, withStartMarker(probeScript(node, ask)), { timeoutMs: PROBE_TIMEOUT_MS, what: `probe of ${node.name}` });
    const { readings: _unused, ...probe } = readProbe(node, ask, exit, Date.now() - started);
    return probe;
  } catch (error) {
    if (error instanceof CancelledFailure) throw error;
    return unreachableProbe(node, (error as Error).message);
  }
}
