/**
 * The seed's allocator reset between batches: `sync`, then drop the page cache with `sudo -n`, so
 * a password prompt can never hang a sweep. A failure is a warning for the user, never fatal; a
 * cancel kills the reset on the node and ends the activity as cancelled.
 * While it runs, and for its cooldown after, the node starts no job of any sweep (node-permits.ts).
 */
import { CancelledFailure } from '@temporalio/common';
import type { SweepNode } from '../shared/nodes';
import type { NodeShell } from '../rigs/node-shell';
import { recordNodeReset } from '../metrics/job-metrics';
import { quietResetCommand } from '../rigs/node-permits';
import { runKillable, withStartMarker } from './killable-command';

export const RESET_COMMAND = 'sync && echo 3 | sudo -n tee /proc/sys/vm/drop_caches > /dev/null';

export interface ResetNodeResult {
  node: string;
  ok: boolean;
  message: string;
}

export async function resetNodeActivity(shell: NodeShell, node: SweepNode, cooldownSeconds: number): Promise<ResetNodeResult> {
  const result = await resetNode(shell, node, cooldownSeconds);
  recordNodeReset(result.node, result.ok);
  return result;
}

async function resetNode(shell: NodeShell, node: SweepNode, cooldownSeconds: number): Promise<ResetNodeResult> {
  try {
    const result = await runKillable(shell, withStartMarker(quietResetCommand(RESET_COMMAND, cooldownSeconds)), {
      timeoutMs: 30_000,
      what: `reset of ${node.name}`,
    });
    if (result.timedOut) return { node: node.name, ok: false, message: 'reset timed out after 30 s' };
    if (result.exitCode !== 0) {
      const reason = result.stderr.trim().split('\n').pop() || `exit code ${result.exitCode}`;
      return { node: node.name, ok: false, message: `reset failed: ${reason} (see README: the sudoers line for drop_caches)` };
    }
    return { node: node.name, ok: true, message: 'caches dropped' };
  } catch (error) {
    if (error instanceof CancelledFailure) throw error;
    return { node: node.name, ok: false, message: `reset failed: ${(error as Error).message}` };
  }
}
