/**
 * Pre-flight, once per run before the first batch: can each node be reached (the WATCHER's
 * `echo OK`), the seed's HIP kernel-cache clear on ROCm nodes, and an optional per-node warm-up
 * run one GPU at a time. Never throws but for a cancel: the workflow decides what an unreachable
 * node means.
 */
import type { SweepNode } from '../shared/nodes';
import type { NodeCheck } from '../shared/results';
import { CancelledFailure } from '@temporalio/common';
import { buildJobCommand } from '../rigs/command';
import { runKillable } from './killable-command';
import type { NodeShell } from '../rigs/node-shell';

/** The seed's once-per-run clear of compiled HIP kernels, so a stale cache cannot poison a sweep. */
export const HIP_CACHE_CLEAR = 'rm -rf ~/.cache/hip ~/.cache/amd_comgr ~/.cache/kernels';

export async function checkNodeActivity(shell: NodeShell, node: SweepNode, clearHipCache: boolean): Promise<NodeCheck> {
  const clear = clearHipCache && node.isRocm;
  const started = Date.now();
  try {
    const result = await shell.run(clear ? `echo OK; ${HIP_CACHE_CLEAR}; echo CLEARED $?` : 'echo OK', { timeoutMs: 20_000 });
    const latency = Date.now() - started;
    if (result.timedOut || !result.stdout.startsWith('OK')) {
      return { node: node.name, reachable: false, latency_ms: null, hip_cache_cleared: null, message: result.timedOut ? 'no answer within 20 s' : `unexpected answer: ${result.stderr.trim() || result.stdout.trim()}` };
    }
    const cleared = clear ? /CLEARED 0/.test(result.stdout) : null;
    const note = clear ? (cleared ? ', HIP kernel cache cleared' : ', HIP kernel cache NOT cleared') : '';
    return { node: node.name, reachable: true, latency_ms: latency, hip_cache_cleared: cleared, message: `reachable (${latency} ms)${note}` };
  } catch (error) {
    return { node: node.name, reachable: false, latency_ms: null, hip_cache_cleared: null, message: `unreachable: ${(error as Error).message}` };
  }
}

export interface WarmupResult {
  node: string;
  gpu: number;
  ok: boolean;
  seconds: number;
  message: string;
}

/**
 * Runs the node's warm-up on one GPU, with that GPU's env, in script_path; a failure is a warning.
 * It heartbeats, and a cancel of the sweep kills the warm-up's process group on the node.
 */
export async function warmupGpuActivity(shell: NodeShell, node: SweepNode, gpu: number, sweep: { runId: string; sweepId?: string }, timeoutSeconds: number): Promise<WarmupResult> {
  // Run like a trial_command (the config allows only {gpu}, {node} and {run_id} in it).
  const warmup = { kind: 'trial' as const, job_id: 'warmup', trial: 0, command: node.warmupCommand ?? 'true', timeout: timeoutSeconds };
  const started = Date.now();
  try {
    const result = await runKillable(shell, buildJobCommand(warmup, { node, gpu, ...sweep }), { timeoutMs: timeoutSeconds * 1000, what: `warm-up of ${node.name} GPU ${gpu}` });
    const seconds = (Date.now() - started) / 1000;
    const ok = !result.timedOut && result.exitCode === 0;
    const why = result.timedOut ? `timed out after ${timeoutSeconds} s` : `exit code ${result.exitCode}: ${result.stderr.trim().split('\n').pop() ?? ''}`;
    return { node: node.name, gpu, ok, seconds, message: ok ? `warm-up done in ${seconds.toFixed(1)}s` : `warm-up failed: ${why}` };
  } catch (error) {
    if (error instanceof CancelledFailure) throw error;
    return { node: node.name, gpu, ok: false, seconds: (Date.now() - started) / 1000, message: `warm-up failed: ${(error as Error).message}` };
  }
}
