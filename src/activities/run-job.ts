/**
 * The activity that runs one job on one GPU of one node and says how it went. A trial that ran and
 * failed is data in the result, never an exception; only a node we could not reach throws, so
 * Temporal's retry policy is the one layer that retries infrastructure. A retry after a lost
 * worker first takes over what the lost attempt left on the node (resume-job.ts).
 */
import { dirname } from 'node:path';
import { Context } from '@temporalio/activity';
import type { JobStartedSignalArgs } from '../shared/names';
import type { SweepJob } from '../shared/jobs';
import type { SweepNode } from '../shared/nodes';
import type { RunJobResult } from '../shared/results';
import { buildJobCommand, expectedOutput, jobToken, killGroupCommand, killWaitingJobsCommand, parseStartMarker } from '../rigs/command';
import { jobFiles } from '../rigs/end-record';
import { NODE_STATE_DIR, parseGoMarker } from '../rigs/node-permits';
import { SshConnectError } from '../rigs/ssh-errors';
import { lostContactResult, NodeContact, waitOutLostContact } from './lost-contact';
import type { NodeShell, RemoteProcess } from '../rigs/node-shell';
import type { RemoteExit } from '../rigs/ssh-pool';
import { failed, type Outcome } from './job-outcome';
import { headerLines } from '../rigs/header-lines';
import { TailBuffer } from '../rigs/tail-buffer';
import { recordJobFinished, recordJobStarted } from '../metrics/job-metrics';
import { finishAttempt, judgeEnd, readJobEnd, recordedExit, STDERR_TAIL_BYTES } from './job-end';
import { cancelRequested, confirmStart, type JobHeartbeat, keepAlive, killAndThrowCancelled, throwIfCancelledWithin, timeoutAfter } from './job-watch';
import { type AttemptPlace, resumeLostAttempt } from './resume-job';

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

export async function runJobActivity(deps: RunJobDeps, input: RunJobInput): Promise<RunJobResult> {
  const contact = new NodeContact(Context.current().info.heartbeatDetails);
  const attemptStart = new Date();
  try {
    return await runAttempt(deps, input, contact);
  } catch (error) {
    if (!(error instanceof SshConnectError) || input.node.isLocal) throw error;
    const verdict = await waitOutLostContact(deps.shellFor(input.node), contact, input.leaseSeconds ?? DEFAULT_LEASE_SECONDS);
    // Back in time: Temporal retries the attempt there, and the retry takes over what this one left (resume-job.ts).
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
  const sweepId = input.sweepId ?? input.runId;
  const place: AttemptPlace = {
    shell: deps.shellFor(node),
    files: jobFiles(NODE_STATE_DIR, sweepId, job.job_id, input.attempt),
    outputFile: expectedOutput(job, { node, gpu, runId: input.runId }),
    token: jobToken(sweepId, job.job_id),
    leaseSeconds: node.isLocal ? undefined : (input.leaseSeconds ?? DEFAULT_LEASE_SECONDS),
  };
  return (await resumeLostAttempt(deps, input, place, contact)) ?? (await runFresh(deps, input, place, contact));
}

/** Starts the job on its node and follows it to its end. */
async function runFresh(deps: RunJobDeps, input: RunJobInput, place: AttemptPlace, contact: NodeContact): Promise<RunJobResult> {
  const { node, gpu, job } = input;
  const { shell, outputFile } = place;
  const redirected = outputFile && input.nodeRunDir && outputFile.startsWith(`${input.nodeRunDir}/`);
  contact.heard();
  const permit = { gpu, slots: node.maxConcurrent, spacingSeconds: input.spacingSeconds ?? node.staggerSeconds };
  const commandContext = { node, gpu, runId: input.runId, sweepId: input.sweepId, createDirs: redirected ? [dirname(outputFile)] : [] };
  const process = await shell.exec(buildJobCommand(job, { ...commandContext, leaseSeconds: place.leaseSeconds, permit, record: { attempt: input.attempt } }));
  // What the start command itself says on stderr (a permit or folder it cannot get); the trial's goes to a file.
  const stderr = new TailBuffer(STDERR_TAIL_BYTES);
  process.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  const [markerLine, goLine] = headerLines(process, 2);
  const marker = parseStartMarker((await markerLine) ?? '');
  let startedAt = new Date();
  if (!marker) {
    const outcome = failed('EXECUTION_ERROR', 'the job did not start (no start marker)', await process.done);
    return finishAttempt(shell, deps, input, outputFile, { outcome, startedAt, stderr: [stderr.toString()] });
  }
  // At once, not after the first interval: a worker lost from here on leaves the pgid to find.
  contact.heard();
  contact.details = { pgid: marker.pgid, node: node.name, gpu } satisfies JobHeartbeat;
  const alive = keepAlive(shell, deps, node, contact);
  let judged: { outcome: Outcome; probed?: string };
  let trialStderr = '';
  try {
    // The node's own rules across sweeps: its GPU, a slot, the start spacing, a cooldown.
    const go = await untilStartOrCancel(goLine, shell, deps, marker.pgid, job, node);
    startedAt = new Date();
    if (go === null) {
      const exit = await process.done;
      // Killed while it waited: as a standby, by the job ahead of it when their sweep was cancelled.
      if (exit.signal) await throwIfCancelledWithin(2 * (deps.heartbeatIntervalMs ?? 2000) + 1000, job, node);
      judged = { outcome: failed('EXECUTION_ERROR', 'the job ended before it got its start permit on the node', exit) };
    } else {
      recordJobStarted(node.name, gpu);
      await confirmStart(deps, input, startedAt);
      const ended = await awaitExit(process, shell, deps, marker.pgid, input);
      const end = await readJobEnd(shell, place.files, marker.pgid);
      trialStderr = end.stderrTail;
      // How the trial ended, as its node-side shell recorded it; without a record (that shell was
      // killed too), as the node reported the shell's own end.
      judged =
        ended === 'timeout'
          ? { outcome: failed('TIMEOUT', `no exit within its timeout of ${job.timeout} s; process group killed`) }
          : await judgeEnd(shell, node, outputFile, end.record ? recordedExit(end.record) : ended, go.nodeTimeNs);
    }
  } finally {
    alive.stop();
  }
  return finishAttempt(shell, deps, input, outputFile, { ...judged, startedAt, stderr: [stderr.toString(), trialStderr] });
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

/**
 * Waits for the job's exit; on timeout or cancel, kills its process group. A running job is
 * cancelled only with its whole sweep (or its worker's shutdown): its kill first kills the sweep's
 * standby waiting for the GPU, which would otherwise start before it hears of the cancel itself.
 */
async function awaitExit(process: RemoteProcess, shell: NodeShell, deps: RunJobDeps, pgid: number, input: RunJobInput): Promise<RemoteExit | 'timeout'> {
  const { job, node } = input;
  const { timedOut, clear } = timeoutAfter(job.timeout * 1000);
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
    clear();
  }
}
