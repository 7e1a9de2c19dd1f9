/**
 * The activity that runs one job on one GPU of one node and says how it went. A trial that ran and
 * failed is data in the result, never an exception; only a node we could not reach throws, so
 * Temporal's retry policy is the one layer that retries infrastructure.
 */
import { dirname } from 'node:path';
import { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import type { JobStartedSignalArgs } from '../shared/names';
import type { SweepJob } from '../shared/jobs';
import type { SweepNode } from '../shared/nodes';
import type { AttemptResult, RunJobResult } from '../shared/results';
import { homeOutputPath } from '../rigs/output-paths';
import {
  buildJobCommand,
  expectedOutput,
  jobToken,
  killGroupCommand,
  killLeftoverCommand,
  killWaitingJobsCommand,
  parseStartMarker,
  renewLeaseCommand,
} from '../rigs/command';
import { parseGoMarker } from '../rigs/node-permits';
import { SshConnectError } from '../rigs/ssh-errors';
import { lostContactResult, NodeContact, waitOutLostContact } from './lost-contact';
import type { NodeShell, RemoteProcess } from '../rigs/node-shell';
import type { RemoteExit } from '../rigs/ssh-pool';
import { checkOutput, copyOutputHome, failed, judgeExit, type Outcome } from './job-outcome';
import { headerLines } from '../rigs/header-lines';
import { TailBuffer } from '../rigs/tail-buffer';
import { diagnoseNode } from './diagnose-node';
import { recordJobFinished, recordJobStarted } from '../metrics/job-metrics';

/** A rig kills a job whose lease was not renewed for this long (rigsweep renews it every 2 s). */
export const DEFAULT_LEASE_SECONDS = 20;

export interface RunJobInput {
  /** The run id users see (`{run_id}`). */
  runId: string;
  /** The sweep's identity, its workflow id: the job's process tag on the node; default `runId`. */
  sweepId?: string;
  /** Names this dispatch in the `jobStarted` signal. */
  startKey: string;
  node: SweepNode;
  gpu: number;
  job: SweepJob;
  /** 1-based batch number, for the record. */
  batch: number;
  /** 1-based attempt of this job. */
  attempt: number;
  /** The run's folder on the results host, where output files are copied home. */
  resultsDir: string;
  /** The results host's worker name; absent in sweeps planned before results hosts (this worker is it). */
  resultsHost?: string;
  /** The node-side folder outputs were redirected into (none with preservePaths). */
  nodeRunDir?: string;
  /** Rigs: seconds the job's lease lasts without renewal before the rig kills it (default 20). */
  leaseSeconds?: number;
  /** The node's stagger in force (steering may change it); default the config's. */
  spacingSeconds?: number;
  /** Signal the start even without a stagger: the sweep seats a standby behind a started job only. */
  reportStart?: boolean;
}

export interface RunJobDeps {
  shellFor(node: SweepNode): NodeShell;
  /** Tells the sweep this job's process runs (the next start on the node is timed from here). */
  reportStarted(workflowId: string, args: JobStartedSignalArgs): Promise<void>;
  /** This worker's name: when it is the sweep's results host, it copies outputs home itself. */
  workerName?: string;
  /** Seconds between TERM and KILL when a job's group is stopped. */
  killGraceSeconds?: number;
  heartbeatIntervalMs?: number;
}

const STDERR_TAIL_BYTES = 2048;
export async function runJobActivity(deps: RunJobDeps, input: RunJobInput): Promise<RunJobResult> {
  const contact = new NodeContact(Context.current().info.heartbeatDetails);
  const attemptStart = new Date();
  try {
    return await runAttempt(deps, input, contact);
  } catch (error) {
    if (!(error instanceof SshConnectError) || input.node.isLocal) throw error;
    const verdict = await waitOutLostContact(deps.shellFor(input.node), contact, input.leaseSeconds ?? DEFAULT_LEASE_SECONDS);
    // Back in time: Temporal retries the attempt there, and the retry first kills what is left of this one.
    if (verdict === 'back') throw error;
    const { job, node, gpu } = input;
    const base = {
      job_id: job.job_id,
      node: node.name,
      gpu_id: gpu,
      batch: input.batch,
      attempt: input.attempt,
      output_file: expectedOutput(job, { node, gpu, runId: input.runId }),
    };
    const result = lostContactResult(base, contact, attemptStart, error);
    recordJobFinished(result);
    return result;
  }
}

async function runAttempt(deps: RunJobDeps, input: RunJobInput, contact: NodeContact): Promise<RunJobResult> {
  const { node, gpu, job } = input;
  const outputFile = expectedOutput(job, { node, gpu, runId: input.runId });
  const redirected = outputFile && input.nodeRunDir && outputFile.startsWith(`${input.nodeRunDir}/`);
  const leaseSeconds = node.isLocal ? undefined : (input.leaseSeconds ?? DEFAULT_LEASE_SECONDS);
  const commandContext = { node, gpu, runId: input.runId, sweepId: input.sweepId, createDirs: redirected ? [dirname(outputFile)] : [], leaseSeconds };
  const shell = deps.shellFor(node);

  await killLeftover(shell, deps, input);
  contact.heard();
  const permit = { gpu, slots: node.maxConcurrent, spacingSeconds: input.spacingSeconds ?? node.staggerSeconds };
  const process = await shell.exec(buildJobCommand(job, { ...commandContext, permit }));
  const stderr = new TailBuffer(STDERR_TAIL_BYTES);
  process.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  const [markerLine, goLine] = headerLines(process, 2);
  const marker = parseStartMarker((await markerLine) ?? '');
  let startedAt = new Date();
  let outcome: Outcome;
  /** The whole output file as the check read it, when it did: no second transfer is needed. */
  let probedOutput: string | undefined;
  if (!marker) {
    outcome = failed('EXECUTION_ERROR', 'the job did not start (no start marker)', await process.done);
  } else {
    // At once, not after the first interval: a worker lost from here on leaves the pgid to kill.
    contact.heard();
    contact.details = { pgid: marker.pgid, node: node.name, gpu };
    const alive = keepAlive(shell, deps, node, contact);
    try {
      // The node's own rules across sweeps: its GPU, a slot, the start spacing, a cooldown.
      const go = await untilStartOrCancel(goLine, shell, deps, marker.pgid, job, node);
      startedAt = new Date();
      if (go === null) {
        const exit = await process.done;
        // Killed while it waited: as a standby, by the job ahead of it when their sweep was cancelled.
        if (exit.signal) await throwIfCancelledWithin(2 * (deps.heartbeatIntervalMs ?? 2000) + 1000, job, node);
        outcome = failed('EXECUTION_ERROR', 'the job ended before it got its start permit on the node', exit);
      } else {
        recordJobStarted(node.name, gpu);
        await confirmStart(deps, input, startedAt);
        const ended = await awaitExit(process, shell, deps, marker.pgid, input);
        outcome =
          ended === 'timeout'
            ? failed('TIMEOUT', `no exit within its timeout of ${job.timeout} s; process group killed`)
            : await judgeExit(ended, outputFile ? () => checkOutput(shell, node, outputFile, go.nodeTimeNs, (text) => (probedOutput = text)) : null);
      }
    } finally {
      alive.stop();
    }
  }
  let localOutput: string | null = null;
  let fetchOutput = false;
  if (outcome.success && outputFile) {
    // Where the copy lands; a worker that is not the results host, or whose copy fails, leaves
    // the output on the node, and the sweep has the results host fetch it there.
    localOutput = homeOutputPath(input.resultsDir, outputFile, input.nodeRunDir);
    fetchOutput = !runsOnResultsHost(deps, input) || !(await copiedHome(shell, input, outputFile, probedOutput));
  }
  const endedAt = new Date();
  const diagnosis = outcome.success ? undefined : await diagnoseNode(shell, node);
  const result: AttemptResult = {
    job_id: job.job_id,
    node: node.name,
    gpu_id: gpu,
    batch: input.batch,
    attempt: input.attempt,
    output_file: outputFile,
    local_output: localOutput,
    ...outcome,
    runtime: (endedAt.getTime() - startedAt.getTime()) / 1000,
    started_at: startedAt.toISOString(),
    ended_at: endedAt.toISOString(),
    stderr_tail: stderr.toString(),
    ...(diagnosis !== undefined ? { diagnosis } : {}),
  };
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

/**
 * A retry after the worker running this job was lost (killed, crashed, cut off): its process may
 * still run on the node, found by the pgid the lost attempt heartbeated. It is killed — if it is
 * still this job — before the job starts again, so two copies never run at once.
 */
async function killLeftover(shell: NodeShell, deps: RunJobDeps, input: RunJobInput): Promise<void> {
  const context = Context.current();
  const previous = context.info.heartbeatDetails as { pgid?: number; node?: string } | undefined;
  if (!previous?.pgid || previous.node !== input.node.name) return;
  const command = killLeftoverCommand(previous.pgid, jobToken(input.sweepId ?? input.runId, input.job.job_id), deps.killGraceSeconds ?? 5);
  const said = await shell.run(command, { timeoutMs: 60_000 });
  if (said.stdout.includes('LEFTOVER'))
    context.log.warn('killed the process group a lost attempt left running', { job: input.job.job_id, node: input.node.name, pgid: previous.pgid });
}

/**
 * Heartbeats the job's pgid (at once, then every interval) and, on a rig, renews its lease: while
 * the rig can be reached, its watchdog leaves the job alone.
 */
function keepAlive(shell: NodeShell, deps: RunJobDeps, node: SweepNode, contact: NodeContact): { stop(): void } {
  const context = Context.current();
  const details = contact.details as { pgid: number };
  context.heartbeat(details);
  const timer = setInterval(() => {
    context.heartbeat(details);
    if (node.isLocal) return;
    void shell.run(renewLeaseCommand(details.pgid), { timeoutMs: 5000 }).then(
      (renewed) => renewed.exitCode === 0 && contact.heard(),
      () => undefined,
    );
  }, deps.heartbeatIntervalMs ?? 2000);
  return { stop: () => clearInterval(timer) };
}

/** Tells the sweep its job runs: a staggered node's next start is timed from here, a standby may follow it. */
async function confirmStart(deps: RunJobDeps, input: RunJobInput, startedAt: Date): Promise<void> {
  // Without a stagger or standbys nothing waits for this signal; it would only cost a workflow task.
  if (!input.reportStart && (input.spacingSeconds ?? input.node.staggerSeconds) <= 0) return;
  const context = Context.current();
  await deps
    .reportStarted(context.info.workflowExecution?.workflowId ?? '', { startKey: input.startKey, startedAtMs: startedAt.getTime() })
    .catch((error: unknown) => {
      context.log.warn('could not report job start', { job: input.job.job_id, error: String(error) });
    });
}

/**
 * Waits for the GO line (its node time: an output file must be newer), the job's end before it
 * (null), or a cancel — on which the waiting job's group is killed, so a cancelled sweep leaves no
 * job queued on a node.
 */
async function untilStartOrCancel(
  goLine: Promise<string | null>,
  shell: NodeShell,
  deps: RunJobDeps,
  pgid: number,
  job: SweepJob,
  node: SweepNode,
): Promise<{ nodeTimeNs: bigint } | null> {
  const line = await Promise.race([goLine, cancelRequested()]);
  if (line === 'cancelled') await killAndThrowCancelled(shell, deps, pgid, job, node);
  return parseGoMarker(line ?? '');
}

/** `first`: a command run on the node just before the kill (in the same exec). */
async function killAndThrowCancelled(shell: NodeShell, deps: RunJobDeps, pgid: number, job: SweepJob, node: SweepNode, first?: string): Promise<never> {
  const kill = killGroupCommand(pgid, deps.killGraceSeconds ?? 5);
  await shell.run(first ? `${first}; ${kill}` : kill, { timeoutMs: 30_000 }).catch(() => undefined);
  throw new CancelledFailure(`${job.job_id} cancelled; its process group on ${node.name} was killed`);
}

/** Resolves (never rejects) once Temporal asks this attempt to stop. */
const cancelRequested = () =>
  Context.current().cancelled.then(
    () => 'cancelled' as const,
    () => 'cancelled' as const,
  );

/**
 * Waits out the next heartbeats' answers: a cancel of this attempt already requested arrives with
 * one of them and ends the attempt as cancelled rather than failed.
 */
async function throwIfCancelledWithin(ms: number, job: SweepJob, node: SweepNode): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const waited = new Promise<'waited'>((resolve) => (timer = setTimeout(() => resolve('waited'), ms)));
  const heard = await Promise.race([waited, cancelRequested()]).finally(() => clearTimeout(timer));
  if (heard === 'cancelled') throw new CancelledFailure(`${job.job_id} cancelled while it waited on ${node.name}`);
}

/**
 * Waits for the job's exit; on timeout or cancel, kills its process group. A running job is
 * cancelled only with its whole sweep (or its worker's shutdown): its kill first kills the sweep's
 * standby waiting for the GPU, which would otherwise start before it hears of the cancel itself.
 */
async function awaitExit(process: RemoteProcess, shell: NodeShell, deps: RunJobDeps, pgid: number, input: RunJobInput): Promise<RemoteExit | 'timeout'> {
  const { job, node } = input;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), job.timeout * 1000)));
  try {
    const ended = await Promise.race([process.done, timedOut, cancelRequested()]);
    if (ended !== 'timeout' && ended !== 'cancelled') return ended;
    if (ended === 'cancelled') {
      process.close();
      return await killAndThrowCancelled(shell, deps, pgid, job, node, killWaitingJobsCommand(input.sweepId ?? input.runId, input.gpu));
    }
    await shell.run(killGroupCommand(pgid, deps.killGraceSeconds ?? 5), { timeoutMs: 30_000 }).catch(() => undefined);
    process.close();
    return 'timeout';
  } finally {
    clearTimeout(timer);
  }
}

/** A localhost node's work always runs on the results host; a rig's, on whichever worker took it. */
function runsOnResultsHost(deps: RunJobDeps, input: RunJobInput): boolean {
  return input.node.isLocal || input.resultsHost === undefined || input.resultsHost === deps.workerName;
}
