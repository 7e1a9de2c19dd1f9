/**
 * How an attempt's end becomes its result, whether the attempt saw its trial end itself or took
 * the end over from a lost attempt: the end record read back from the node, the exit judged with
 * the output file, the output copied home, the record of the attempt.
 */
import { Context } from '@temporalio/activity';
import type { SweepNode } from '../shared/nodes';
import type { AttemptResult, RunJobResult } from '../shared/results';
import { homeOutputPath } from '../rigs/output-paths';
import { type EndRecord, type JobFiles, parseReadEnd, readEndCommand } from '../rigs/end-record';
import type { NodeShell } from '../rigs/node-shell';
import type { RemoteExit } from '../rigs/ssh-pool';
import { TailBuffer } from '../rigs/tail-buffer';
import { recordJobFinished } from '../metrics/job-metrics';
import { checkOutput, copyOutputHome, judgeExit, type Outcome } from './job-outcome';
import { diagnoseNode } from './diagnose-node';
import type { RunJobDeps, RunJobInput } from './run-job';

export const STDERR_TAIL_BYTES = 2048;

/** The end record of the attempt's process group `pgid` (null when it wrote none) and its trial's stderr tail. */
export async function readJobEnd(shell: NodeShell, files: JobFiles, pgid: number): Promise<{ record: EndRecord | null; stderrTail: string }> {
  const read = await shell.run(readEndCommand(files, STDERR_TAIL_BYTES), { timeoutMs: 60_000 });
  return parseReadEnd(read.stdout, pgid);
}

/** The exit an end record tells. */
export const recordedExit = (record: EndRecord): RemoteExit => ({ exitCode: record.exitCode, signal: record.signal });

/**
 * Judges a trial's exit by the success rule, reading its output file back on the node (it must be
 * newer than `startNs`, the node time of the trial's start). `probed`: the whole file when the check
 * read it, so no second transfer is needed.
 */
export async function judgeEnd(
  shell: NodeShell,
  node: SweepNode,
  outputFile: string | null,
  exit: RemoteExit,
  startNs: bigint,
): Promise<{ outcome: Outcome; probed?: string }> {
  let probed: string | undefined;
  const outcome = await judgeExit(exit, outputFile ? () => checkOutput(shell, node, outputFile, startNs, (text) => (probed = text)) : null);
  return { outcome, probed };
}

export interface AttemptEnd {
  outcome: Outcome;
  probed?: string;
  startedAt: Date;
  /** When the trial ended, if known from its record; else when the result is made. */
  endedAt?: Date;
  /** The last bytes of what the job wrote to stderr, in order: its start command's, its trial's. */
  stderr: string[];
  resumed?: AttemptResult['resumed'];
}

/**
 * The attempt's record: the output copied home when it succeeded (or left for the results host to
 * fetch), the node diagnosed when it did not.
 */
export async function finishAttempt(shell: NodeShell, deps: RunJobDeps, input: RunJobInput, outputFile: string | null, end: AttemptEnd): Promise<RunJobResult> {
  const { job, node, gpu } = input;
  const { outcome } = end;
  let localOutput: string | null = null;
  let fetchOutput = false;
  if (outcome.success && outputFile) {
    // Where the copy lands; a worker that is not the results host, or whose copy fails, leaves
    // the output on the node, and the sweep has the results host fetch it there.
    localOutput = homeOutputPath(input.resultsDir, outputFile, input.nodeRunDir);
    fetchOutput = !runsOnResultsHost(deps, input) || !(await copiedHome(shell, input, outputFile, end.probed));
  }
  const endedAt = end.endedAt ?? new Date();
  const diagnosis = outcome.success ? undefined : await diagnoseNode(shell, node);
  const stderr = new TailBuffer(STDERR_TAIL_BYTES);
  for (const part of end.stderr) stderr.push(Buffer.from(part));
  const result: AttemptResult = {
    job_id: job.job_id,
    node: node.name,
    gpu_id: gpu,
    batch: input.batch,
    attempt: input.attempt,
    output_file: outputFile,
    local_output: localOutput,
    ...outcome,
    runtime: (endedAt.getTime() - end.startedAt.getTime()) / 1000,
    started_at: end.startedAt.toISOString(),
    ended_at: endedAt.toISOString(),
    stderr_tail: stderr.toString(),
    ...(diagnosis !== undefined ? { diagnosis } : {}),
    ...(end.resumed ? { resumed: end.resumed } : {}),
  };
  if (end.resumed) {
    Context.current().log.info(`job ${end.resumed}: its lost attempt's trial was taken over, not run again`, {
      job: job.job_id,
      node: node.name,
      resumed: end.resumed,
      success: result.success,
    });
  }
  recordJobFinished(result);
  return fetchOutput ? { ...result, fetchOutput: true } : result;
}

/** Copies the output home on the results host; false (and a warning) when it cannot. */
async function copiedHome(shell: NodeShell, input: RunJobInput, outputFile: string, probed: string | undefined): Promise<boolean> {
  try {
    await copyOutputHome(shell, input.node, outputFile, input, probed);
    return true;
  } catch (error) {
    Context.current().log.warn('could not copy the output home; the results host fetches it', { job: input.job.job_id, error: String(error) });
    return false;
  }
}

/** A localhost node's work always runs on the results host; a rig's, on whichever worker took it. */
function runsOnResultsHost(deps: RunJobDeps, input: RunJobInput): boolean {
  return input.node.isLocal || input.resultsHost === undefined || input.resultsHost === deps.workerName;
}
