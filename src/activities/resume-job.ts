/**
 * A retry after a lost worker takes over what the lost attempt left on its node instead of running
 * a whole GPU trial a second time: it adopts the end record of a trial that has ended, or
 * re-attaches to a trial that still runs under its lease. Only when there is neither — the job
 * never started, still waited for its start permit, or its lease ran out and its rig fenced it —
 * does the job run again, once what is left of the lost copy has been killed.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Context } from '@temporalio/activity';
import type { RunJobResult } from '../shared/results';
import { killGroupCommand, killWaitingJobsCommand, shellWord } from '../rigs/command';
import { type EndRecord, type JobFiles, outputStateCommand, parseOutputState, sameOutput } from '../rigs/end-record';
import { type LostAttempt, lostAttemptCommand, parseLostAttempt, stillRunningCommand } from '../rigs/lost-attempt';
import type { NodeShell } from '../rigs/node-shell';
import { failed } from './job-outcome';
import { finishAttempt, judgeEnd, readJobEnd, recordedExit } from './job-end';
import { cancelRequested, confirmStart, type JobHeartbeat, keepAlive, killAndThrowCancelled, lostAttemptOn, timeoutAfter } from './job-watch';
import type { NodeContact } from './lost-contact';
import type { RunJobDeps, RunJobInput } from './run-job';

/** Where the attempt runs: its node's shell, its files there, its output, its token and lease. */
export interface AttemptPlace {
  shell: NodeShell;
  files: JobFiles;
  outputFile: string | null;
  token: string;
  leaseSeconds?: number;
}

/**
 * The result of the lost attempt's trial, taken over on the node, or null when the job must run
 * again (after anything left of the lost copy has been killed).
 */
export async function resumeLostAttempt(deps: RunJobDeps, input: RunJobInput, place: AttemptPlace, contact: NodeContact): Promise<RunJobResult | null> {
  const lost = lostAttemptOn(input.node);
  if (!lost) return null;
  const { shell, token, leaseSeconds } = place;
  const command = lostAttemptCommand({ pgid: lost.pgid, token, record: place.files.record, leaseSeconds, graceSeconds: deps.killGraceSeconds ?? 5 });
  const said = await shell.run(command, { timeoutMs: 60_000 });
  contact.heard();
  const found = parseLostAttempt(said.stdout, lost.pgid);
  const clock = nodeClock(found);
  if (found.state === 'ended') return adopt(deps, input, place, lost, found.record, clock);
  if (found.state === 'running') return reattach(deps, input, place, contact, lost, { startedNs: found.startedNs, clock });
  const log = Context.current().log;
  const where = { job: input.job.job_id, node: input.node.name, pgid: lost.pgid, why: found.why };
  if (found.killed) log.warn('killed the process group a lost attempt left, to run its job again', where);
  else if (found.why !== 'nothing') log.warn('a lost attempt left nothing to take over: running its job again', where);
  return null;
}

/** Node times as this host's clock reads them, from the node's clock seen at one moment. */
function nodeClock(found: LostAttempt): (ns: bigint) => Date {
  const heardAtMs = Date.now();
  const nodeNowNs = found.state === 'gone' ? 0n : found.nodeNowNs;
  return (ns) => new Date(heardAtMs - Number(nodeNowNs - ns) / 1e6);
}

/**
 * Adopts a trial's end: judged exactly as if this attempt had seen it end, after its output is
 * checked to be the very file the trial left (size, mtime, sha256). A fenced trial, or an output
 * changed or gone since, is not adopted: the job runs again.
 */
async function adopt(
  deps: RunJobDeps,
  input: RunJobInput,
  place: AttemptPlace,
  lost: JobHeartbeat,
  record: EndRecord,
  clock: (ns: bigint) => Date,
): Promise<RunJobResult | null> {
  const { shell, outputFile } = place;
  const { node, job } = input;
  const log = Context.current().log;
  if (record.fenced) {
    log.warn("a lost attempt's trial was killed by its lease: running its job again", { job: job.job_id, node: node.name, pgid: lost.pgid });
    return null;
  }
  if (outputFile) {
    const now = await shell.run(outputStateCommand(shellWord(node.scriptPath), outputFile), { timeoutMs: 60_000 });
    const state = parseOutputState(now.stdout.trim().replace(/^output /, ''));
    if (now.exitCode !== 0 || !sameOutput(record.output, state ?? undefined)) {
      log.warn(`${outputFile} changed after its trial ended: running its job again`, { job: job.job_id, node: node.name, pgid: lost.pgid });
      return null;
    }
  }
  const { stderrTail } = await readJobEnd(shell, place.files, lost.pgid);
  const { outcome, probed } = await judgeEnd(shell, node, outputFile, recordedExit(record), record.startNs);
  const times = { startedAt: clock(record.startNs), endedAt: clock(record.endNs) };
  return finishAttempt(shell, deps, input, outputFile, { outcome, probed, ...times, stderr: [stderrTail], resumed: 'adopted' });
}

/**
 * Re-attaches to a trial that still runs: heartbeats its process group and renews its lease as
 * its own attempt did, holds it to the job's timeout counted from its start, and once it ends
 * reads its end record and judges it. A cancel kills it, as it would have.
 */
async function reattach(
  deps: RunJobDeps,
  input: RunJobInput,
  place: AttemptPlace,
  contact: NodeContact,
  lost: JobHeartbeat,
  start: { startedNs: bigint | null; clock: (ns: bigint) => Date },
): Promise<RunJobResult | null> {
  const { shell, outputFile } = place;
  const { node, job, gpu } = input;
  const { pgid } = lost;
  const startedAt = start.startedNs === null ? new Date() : start.clock(start.startedNs);
  contact.details = { pgid, node: node.name, gpu } satisfies JobHeartbeat;
  const alive = keepAlive(shell, deps, node, contact);
  try {
    await confirmStart(deps, input, startedAt);
    const ended = await untilEnded(shell, deps, place, contact, pgid, job.timeout * 1000 - (Date.now() - startedAt.getTime()));
    if (ended === 'cancelled') return await killAndThrowCancelled(shell, deps, pgid, job, node, killWaitingJobsCommand(input.sweepId ?? input.runId, gpu));
    if (ended === 'timeout') await shell.run(killGroupCommand(pgid, deps.killGraceSeconds ?? 5), { timeoutMs: 30_000 }).catch(() => undefined);
    const end = await readJobEnd(shell, place.files, pgid);
    if (end.record?.fenced) return null;
    const judged =
      ended === 'timeout'
        ? { outcome: failed('TIMEOUT', `no exit within its timeout of ${job.timeout} s; process group killed`) }
        : end.record
          ? await judgeEnd(shell, node, outputFile, recordedExit(end.record), end.record.startNs)
          : { outcome: failed('KILLED', 'its processes were killed before its node-side shell could record how it ended') };
    const endedAt = end.record && ended !== 'timeout' ? start.clock(end.record.endNs) : undefined;
    return await finishAttempt(shell, deps, input, outputFile, { ...judged, startedAt, endedAt, stderr: [end.stderrTail], resumed: 'reattached' });
  } finally {
    alive.stop();
  }
}

/** Polls the re-attached trial until it ends, its timeout passes or the attempt is cancelled. */
async function untilEnded(shell: NodeShell, deps: RunJobDeps, place: AttemptPlace, contact: NodeContact, pgid: number, remainingMs: number) {
  const { timedOut, clear } = timeoutAfter(remainingMs);
  const stopped = Promise.race([timedOut, cancelRequested()]);
  const pollMs = Math.min(1000, deps.heartbeatIntervalMs ?? 2000);
  try {
    for (;;) {
      const still = await shell.run(stillRunningCommand(pgid, place.token), { timeoutMs: 30_000 });
      if (!still.timedOut) contact.heard();
      if (!still.timedOut && !still.stdout.includes('RUNNING')) return 'ended' as const;
      const woke = await Promise.race([stopped, sleep(pollMs)]);
      if (woke === 'timeout' || woke === 'cancelled') return woke;
    }
  } finally {
    clear();
  }
}
