/**
 * A node command that an activity runs while it heartbeats — a warm-up, a reset, a health probe —
 * and that never outlives its activity. The command reports its process group first (the start
 * marker); a cancel of the activity (it arrives with a heartbeat) or the command's timeout kills
 * that whole group on the node before the activity ends. Closing an SSH channel would not: sshd
 * leaves a process started without a pty running.
 */
import { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import { killGroupCommand, parseStartMarker, START_MARKER } from '../rigs/command';
import type { NodeShell, RemoteProcess } from '../rigs/node-shell';
import type { RemoteExit } from '../rigs/ssh-pool';
import { TailBuffer } from '../rigs/tail-buffer';

const OUTPUT_TAIL_BYTES = 64 * 1024;

export interface KillableOptions {
  timeoutMs: number;
  /** Names the command in a cancel's message, e.g. `warm-up of 10.0.0.2 GPU 1`. */
  what: string;
  killGraceSeconds?: number;
  heartbeatIntervalMs?: number;
}

export interface KillableResult extends RemoteExit {
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** `command` preceded by the start marker: its first stdout line names its process group. */
export function withStartMarker(command: string): string {
  return `echo ${START_MARKER} $$ $(date +%s%N); ${command}`;
}

/**
 * Runs a command that prints the start marker first (`withStartMarker`, or a job command) to its
 * end. On timeout its group is killed and the result says `timedOut`; on a cancel its group is
 * killed and a CancelledFailure is thrown, so the activity ends as cancelled.
 */
export async function runKillable(shell: NodeShell, command: string, options: KillableOptions): Promise<KillableResult> {
  const context = Context.current();
  const process = await shell.exec(command);
  const output = collectOutput(process);
  const heartbeat = setInterval(() => context.heartbeat(), options.heartbeatIntervalMs ?? 2000);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), options.timeoutMs)));
  const cancelled = context.cancelled.then(
    () => 'cancelled' as const,
    () => 'cancelled' as const,
  );
  try {
    context.heartbeat();
    const ended = await Promise.race([process.done, timedOut, cancelled]);
    if (ended !== 'timeout' && ended !== 'cancelled') return { ...ended, ...(await output.text()), timedOut: false };
    const marker = output.marker();
    if (marker) await shell.run(killGroupCommand(marker.pgid, options.killGraceSeconds ?? 5), { timeoutMs: 30_000 }).catch(() => undefined);
    process.close();
    if (ended === 'cancelled') throw new CancelledFailure(`${options.what} cancelled; its process group was killed`);
    return { exitCode: null, signal: null, ...(await output.text()), timedOut: true };
  } finally {
    clearInterval(heartbeat);
    clearTimeout(timer);
  }
}

/** Both streams drained into bounded tails (a full channel window would stall the command), the first line kept. */
function collectOutput(process: RemoteProcess) {
  const stdout = new TailBuffer(OUTPUT_TAIL_BYTES);
  const stderr = new TailBuffer(OUTPUT_TAIL_BYTES);
  let firstLine = '';
  let firstLineDone = false;
  process.stdout.on('data', (chunk: Buffer) => {
    stdout.push(chunk);
    if (firstLineDone) return;
    firstLine += chunk.toString('utf8');
    firstLineDone = firstLine.includes('\n');
  });
  process.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  const ended = (stream: NodeJS.ReadableStream) => new Promise<void>((resolve) => (stream.once('end', resolve), stream.once('close', resolve)));
  const streamsEnded = Promise.all([ended(process.stdout), ended(process.stderr)]);
  return {
    marker: () => parseStartMarker(firstLine.split('\n')[0]),
    /** The output after the marker line; waits briefly for the streams to end (a killed command's may not). */
    async text() {
      await Promise.race([streamsEnded, new Promise((resolve) => setTimeout(resolve, 1000))]);
      const all = stdout.toString();
      return { stdout: all.startsWith(START_MARKER) ? all.slice(all.indexOf('\n') + 1) : all, stderr: stderr.toString() };
    },
  };
}
