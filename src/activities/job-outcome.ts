/**
 * How a finished job went: its exit and, when it names one, its output file — read back on its
 * node, judged (fresh, valid, not an error) and copied to the results host.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { SweepNode } from '../shared/nodes';
import type { FailureMode, JobResult } from '../shared/results';
import type { NodeShell } from '../rigs/node-shell';
import { homeOutputPath, nodeOutputPath } from '../rigs/output-paths';
import type { RemoteExit } from '../rigs/ssh-pool';
import { judgeOutput, outputProbeCommand, type OutputVerdict, parseOutputProbe } from '../rigs/output-check';

/** How a finished job went, before times and the stderr tail are added. */
export type Outcome = Pick<JobResult, 'success' | 'exit_code' | 'signal' | 'failure_mode' | 'error'>;

export const succeeded: Outcome = { success: true, exit_code: 0, signal: null, failure_mode: null, error: null };
export const failed = (failure_mode: FailureMode, error: string, exit: Partial<RemoteExit> = {}): Outcome => ({
  success: false,
  exit_code: exit.exitCode ?? null,
  signal: normaliseSignal(exit.signal ?? null),
  failure_mode,
  error,
});

/** The success rule: exit 0 and, when the job names one, a fresh, valid, non-error output file. */
export async function judgeExit(exit: RemoteExit, check: null | (() => Promise<OutputVerdict>)): Promise<Outcome> {
  if (exit.signal) return failed('KILLED', `killed by ${normaliseSignal(exit.signal)}`, exit);
  const verdict = check ? await check() : ({ ok: true } as const);
  if (exit.exitCode !== 0) {
    // A trial that reported its own error says more than its exit code does.
    if (!verdict.ok && verdict.mode === 'TRIAL_ERROR') return failed('TRIAL_ERROR', verdict.error, exit);
    return failed('EXIT_CODE', `exit code ${exit.exitCode}`, exit);
  }
  return verdict.ok ? succeeded : failed(verdict.mode, verdict.error, exit);
}

/**
 * Copies a job's output file from its node into the run's folder on this host (SFTP for rigs);
 * throws when it cannot. `probed`: the file's text as the output check already read it.
 */
export async function copyOutputHome(
  shell: NodeShell,
  node: SweepNode,
  outputFile: string,
  input: { resultsDir: string; nodeRunDir?: string },
  probed?: string,
): Promise<string> {
  const local = homeOutputPath(input.resultsDir, outputFile, input.nodeRunDir);
  await mkdir(dirname(local), { recursive: true });
  if (probed !== undefined) await writeFile(local, probed);
  else await shell.download(nodeOutputPath(node.scriptPath, outputFile), local);
  return local;
}

/** Reads the job's output file back on its node and judges it. */
export async function checkOutput(
  shell: NodeShell,
  node: SweepNode,
  outputFile: string,
  attemptStartNs: bigint,
  keepText: (text: string) => void,
): Promise<OutputVerdict> {
  const probe = await shell.run(outputProbeCommand(node.scriptPath, outputFile), { timeoutMs: 60_000 });
  if (probe.exitCode !== 0) return { ok: false, mode: 'EXECUTION_ERROR', error: `could not read ${outputFile}: ${probe.stderr.trim()}` };
  const parsed = parseOutputProbe(probe.stdout);
  // The whole file, byte for byte (its size matches what arrived as UTF-8): it is the copy home.
  if (!parsed.missing && Buffer.byteLength(parsed.text) === parsed.size) keepText(parsed.text);
  return judgeOutput(parsed, outputFile, attemptStartNs);
}

/** sshd says `KILL`, Node says `SIGKILL`: results always say `SIGKILL`. */
function normaliseSignal(signal: string | null): string | null {
  if (!signal) return null;
  return signal.startsWith('SIG') ? signal : `SIG${signal}`;
}
