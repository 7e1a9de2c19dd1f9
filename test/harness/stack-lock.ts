/**
 * One real-stack run at a time on this machine. The rigs' network namespaces, bridge and user
 * are machine-wide (rigs.sh tears down every leftover rig before it builds its own), so a second
 * run started alongside — from another clone or worktree — would pull the rigs out from under
 * the first. The lock is an `flock` held by a child that lives as long as this process does, so
 * a run that dies releases it.
 */
import { spawn, type ChildProcess } from 'node:child_process';

const LOCK_FILE = '/run/rigsweep-stack-tier.lock';
/** Long enough for a whole stack tier ahead of this one to finish. */
const WAIT_SECONDS = 1800;

let holder: ChildProcess | undefined;

export async function setup(): Promise<void> {
  // Told once, then the pipe is let go: the test run's exit must not wait for it.
  const hold = `echo locked; exec >/dev/null; while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done`;
  holder = spawn('flock', ['-o', '-w', String(WAIT_SECONDS), LOCK_FILE, '-c', hold], { stdio: ['ignore', 'pipe', 'inherit'] });
  const child = holder;
  let waitingSaid = false;
  const said = setTimeout(() => {
    waitingSaid = true;
    process.stderr.write(`stack tier: waiting for another real-stack run on this machine to finish (${LOCK_FILE})\n`);
  }, 2000);
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('locked') && resolve());
      child.once('exit', (code) => reject(new Error(`could not take ${LOCK_FILE} within ${WAIT_SECONDS} s (flock exited ${code})`)));
      child.once('error', reject);
    });
  } finally {
    clearTimeout(said);
  }
  if (waitingSaid) process.stderr.write('stack tier: lock taken, starting\n');
}

export function teardown(): void {
  holder?.stdout?.destroy();
  holder?.kill('SIGTERM');
  holder?.unref();
}
