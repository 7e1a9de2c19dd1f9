/**
 * Pre-flight's optional warm-up: the node's `warmup_command` on one GPU, run like a trial. A
 * failure is a warning, not an error: the core decides what it means.
 */
import { CancelledFailure } from '@temporalio/common';
import type { SweepNode } from '../shared/nodes';
import { buildJobCommand } from '../rigs/command';
import type { NodeShell } from '../rigs/node-shell';
import { runKillable } from './killable-command';

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
export async function warmupGpuActivity(
  shell: NodeShell,
  node: SweepNode,
  gpu: number,
  sweep: { runId: string; sweepId?: string },
  timeoutSeconds: number,
): Promise<WarmupResult> {
  // Run like a trial_command (the config allows only {gpu}, {node} and {run_id} in it).
  const warmup = { kind: 'trial' as const, job_id: 'warmup', trial: 0, command: node.warmupCommand ?? 'true', timeout: timeoutSeconds };
  const started = Date.now();
  try {
    const result = await runKillable(shell, buildJobCommand(warmup, { node, gpu, ...sweep }), {
      timeoutMs: timeoutSeconds * 1000,
      what: `warm-up of ${node.name} GPU ${gpu}`,
    });
    const seconds = (Date.now() - started) / 1000;
    const ok = !result.timedOut && result.exitCode === 0;
    const why = result.timedOut ? `timed out after ${timeoutSeconds} s` : `exit code ${result.exitCode}: ${result.stderr.trim().split('\n').pop() ?? ''}`;
    return { node: node.name, gpu, ok, seconds, message: ok ? `warm-up done in ${seconds.toFixed(1)}s` : `warm-up failed: ${why}` };
  } catch (error) {
    if (error instanceof CancelledFailure) throw error;
    return { node: node.name, gpu, ok: false, seconds: (Date.now() - started) / 1000, message: `warm-up failed: ${(error as Error).message}` };
  }
}
