/**
 * The probe before a batch: can the node be reached, and does its `health_command` (run in
 * script_path) exit 0 — e.g. a check that rocm-smi shows no GPU in an "unknown" state, the rigs'
 * freeze signature. Never throws but for a cancel (which kills the probe on the node): the
 * workflow's node-health policy decides what a failure means.
 */
import { CancelledFailure } from '@temporalio/common';
import type { SweepNode } from '../shared/nodes';
import { shellWord } from '../rigs/command';
import type { NodeShell } from '../rigs/node-shell';
import { runKillable, withStartMarker } from './killable-command';

export interface NodeProbeResult {
  node: string;
  ok: boolean;
  message: string;
}

const PROBE_TIMEOUT_MS = 30_000;
const OUTPUT_TAIL_CHARS = 300;

export async function probeNodeActivity(shell: NodeShell, node: SweepNode): Promise<NodeProbeResult> {
  const started = Date.now();
  const command = node.healthCommand ? `cd ${shellWord(node.scriptPath)} && { ${node.healthCommand}\n}` : 'true';
  try {
    const result = await runKillable(shell, withStartMarker(command), { timeoutMs: PROBE_TIMEOUT_MS, what: `health probe of ${node.name}` });
    const ms = Date.now() - started;
    if (result.timedOut) return { node: node.name, ok: false, message: `health_command gave no answer within ${PROBE_TIMEOUT_MS / 1000} s` };
    if (result.exitCode !== 0) {
      const said = (result.stderr.trim() || result.stdout.trim()).slice(-OUTPUT_TAIL_CHARS);
      return { node: node.name, ok: false, message: `health_command exited ${result.exitCode}${said ? `: ${said}` : ''}` };
    }
    return { node: node.name, ok: true, message: `healthy (${ms} ms)` };
  } catch (error) {
    if (error instanceof CancelledFailure) throw error;
    return { node: node.name, ok: false, message: `unreachable: ${(error as Error).message}` };
  }
}

const DIAGNOSIS_TIMEOUT_MS = 30_000;
const DIAGNOSIS_TAIL_CHARS = 2048;

/**
 * After a failed attempt: the node's `diagnose_command` (e.g. `dmesg | tail -50; rocm-smi`), so
 * the state that explains the failure is kept before a retry hides it. Its last 2 KB, or why not.
 */
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
