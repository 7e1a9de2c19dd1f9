/**
 * After a failed attempt, the node's own account of it: its `diagnose_command` (e.g. `dmesg | tail
 * -50; rocm-smi`), kept before a retry hides the state that explains the failure.
 */
import type { SweepNode } from '../shared/nodes';
import { shellWord } from '../rigs/command';
import type { NodeShell } from '../rigs/node-shell';

const DIAGNOSIS_TIMEOUT_MS = 30_000;
const DIAGNOSIS_TAIL_CHARS = 2048;

/** The last 2 KB of what `diagnose_command` printed, or why it could not run; undefined if the node has none. */
export async function diagnoseNode(shell: NodeShell, node: SweepNode): Promise<string | undefined> {
  if (!node.diagnoseCommand) return undefined;
  try {
    const result = await shell.run(`cd ${shellWord(node.scriptPath)} && { ${node.diagnoseCommand}\n} 2>&1`, { timeoutMs: DIAGNOSIS_TIMEOUT_MS });
    const text = (result.stdout + result.stderr).slice(-DIAGNOSIS_TAIL_CHARS);
    return result.timedOut ? `${text}\n[diagnose_command timed out after ${DIAGNOSIS_TIMEOUT_MS / 1000} s]` : text;
  } catch (error) {
    return `[diagnose_command could not run: ${(error as Error).message}]`;
  }
}
