/**
 * The activity that runs one job on one GPU of one node and says how it went. A trial that ran and
 * failed is data in the result, never an exception; only a node we could not reach throws, so
 * Temporal's retry policy is the one layer that retries infrastructure.
 */
import { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import type { JobStartedSignalArgs } from '../shared/names';
import type { SweepJob } from '../shared/jobs';
import type { SweepNode } from '../shared/nodes';
import type { FailureMode, JobResult } from '../shared/results';
import { buildJobCommand, expectedOutput, killGroupCommand, parseStartMarker } from '../rigs/command';
import { TailBuffer } from '../rigs/local-shell';
import type { NodeShell, RemoteProcess } from '../rigs/node-shell';
import { judgeOutput, outputProbeCommand, parseOutputProbe } from '../rigs/output-check';

export interface RunJobInput {
  runId: string;
  /** Names this dispatch in the `jobStarted` signal. */
  startKey: string;
  node: SweepNode;
  gpu: number;
  job: SweepJob;
  /** 1-based batch number, for the record. */
  batch: number;
}

export interface RunJobDeps {
  shellFor(node: SweepNode): NodeShell;
  /** Tells the sweep this job's process runs (the next start on the node is timed from here). */
  reportStarted(workflowId: string, args: JobStartedSignalArgs): Promise<void>;
  /** Seconds between TERM and KILL when a job's group is stopped. */
  killGraceSeconds?: number;
  heartbeatIntervalMs?: number;
}

const STDERR_TAIL_BYTES = 2048;

/** Resolves with the first stdout line (the start marker), or null if the process ends first. */
function firstLine(process: RemoteProcess): Promise<string | null> {
  return new Promise((resolve) => {
    let text = '';
    const onData = (chunk: Buffer) => {
      text += chunk.toString('utf8');
      const end = text.indexOf('\n');
      if (end >= 0) {
        process.stdout.removeListener('data', onData);
        process.stdout.resume(); // keep draining: a full channel window would stall the trial
        resolve(text.slice(0, end));
      }
    };
    process.stdout.on('data', onData);
    process.stdout.once('end', () => resolve(null));
  });
}

function normaliseSignal(signal: string | null): string | null {
  if (!signal) return null;
  return signal.startsWith('SIG') ? signal : `SIG${signal}`;
}

export async function runJobActivity(deps: RunJobDeps, input: RunJobInput): Promise<JobResult> {
  const context = Context.current();
  const { node, gpu, job } = input;
  const commandContext = { node, gpu, runId: input.runId };
  const shell = deps.shellFor(node);
  const outputFile = expectedOutput(job, commandContext);
  const base = { job_id: job.job_id, node: node.name, gpu_id: gpu, batch: input.batch, output_file: outputFile };

  let startedAt = new Date();
  const process = await shell.exec(buildJobCommand(job, commandContext));
  const stderr = new TailBuffer(STDERR_TAIL_BYTES);
  process.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  const marker = parseStartMarker((await firstLine(process)) ?? '');
  startedAt = new Date();
  await deps
    .reportStarted(context.info.workflowExecution?.workflowId ?? '', { startKey: input.startKey, startedAtMs: Date.now() })
    .catch((error) => context.log.warn('could not report job start', { job: job.job_id, error: String(error) }));

  const finish = (fields: { success: boolean; exit_code: number | null; signal: string | null; failure_mode: FailureMode | null; error: string | null }): JobResult => {
    const endedAt = new Date();
    return {
      ...base,
      ...fields,
      runtime: Math.round((endedAt.getTime() - startedAt.getTime())) / 1000,
      started_at: startedAt.toISOString(),
      ended_at: endedAt.toISOString(),
      stderr_tail: stderr.toString(),
    };
  };
  if (!marker) {
    const exit = await process.done;
    return finish({ success: false, exit_code: exit.exitCode, signal: normaliseSignal(exit.signal), failure_mode: 'EXECUTION_ERROR', error: 'the job did not start (no start marker)' });
  }

  const heartbeat = setInterval(() => context.heartbeat({ pgid: marker.pgid, node: node.name, gpu }), deps.heartbeatIntervalMs ?? 2000);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), job.timeout * 1000)));
  const cancelled = context.cancelled.then(
    () => 'cancelled' as const,
    () => 'cancelled' as const,
  );
  try {
    const outcome = await Promise.race([process.done, timedOut, cancelled]);
    if (outcome === 'timeout' || outcome === 'cancelled') {
      await shell.run(killGroupCommand(marker.pgid, deps.killGraceSeconds ?? 5), { timeoutMs: 30_000 }).catch(() => undefined);
      process.close();
      if (outcome === 'cancelled') throw new CancelledFailure(`${job.job_id} cancelled; its process group on ${node.name} was killed`);
      return finish({ success: false, exit_code: null, signal: null, failure_mode: 'TIMEOUT', error: `no exit within its timeout of ${job.timeout} s; process group killed` });
    }
    const signal = normaliseSignal(outcome.signal);
    if (signal) return finish({ success: false, exit_code: outcome.exitCode, signal, failure_mode: 'KILLED', error: `killed by ${signal}` });
    if (outcome.exitCode !== 0) {
      return finish({ success: false, exit_code: outcome.exitCode, signal: null, failure_mode: 'EXIT_CODE', error: `exit code ${outcome.exitCode}` });
    }
    if (outputFile) {
      const probe = await shell.run(outputProbeCommand(node.scriptPath, outputFile), { timeoutMs: 60_000 });
      if (probe.exitCode !== 0) {
        return finish({ success: false, exit_code: 0, signal: null, failure_mode: 'EXECUTION_ERROR', error: `could not read ${outputFile}: ${probe.stderr.trim()}` });
      }
      const verdict = judgeOutput(parseOutputProbe(probe.stdout), outputFile, marker.nodeTimeNs);
      if (!verdict.ok) return finish({ success: false, exit_code: 0, signal: null, failure_mode: verdict.mode, error: verdict.error });
    }
    return finish({ success: true, exit_code: 0, signal: null, failure_mode: null, error: null });
  } finally {
    clearInterval(heartbeat);
    clearTimeout(timer);
  }
}
