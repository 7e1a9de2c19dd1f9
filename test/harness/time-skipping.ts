/**
 * Temporal's Java time-skipping test server for workflow tests: a 2-hour `sleep` takes about a
 * second. `scripts/setup-test-server.sh` (run by scripts/setup.sh) fetches it from Maven Central
 * and writes the wrapper used here, so nothing is downloaded at test time.
 *
 *   const env = await startTimeSkipping();
 *   try { ...Worker.create({ connection: env.nativeConnection, ... }), env.client.workflow.execute(...) }
 *   finally { await stopTimeSkipping(env); }
 *
 * Time only skips while a result is awaited through `env.client` (the TimeSkippingClient).
 * One env per test file is cheap (~0.7 s to start here); time skipping is global to a server,
 * so never run two workflows' tests against one env concurrently.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';

const MAIN_CLASS = 'io.temporal.testserver.TestServer';

/** Where scripts/setup-test-server.sh writes the wrapper (`temporal-test-server PORT`). */
export const TEST_SERVER_WRAPPER = resolve(__dirname, '..', '..', 'node_modules', '.cache', 'rigsweep-test-server', 'temporal-test-server');

/** The wrapper's path, or a clear error when setup has not been run (e.g. after a bare `npm ci`). */
export function testServerWrapperPath(): string {
  if (!existsSync(TEST_SERVER_WRAPPER)) {
    throw new Error(
      `Temporal's time-skipping test server is not installed (no ${TEST_SERVER_WRAPPER}): run scripts/setup-test-server.sh (scripts/setup.sh runs it)`,
    );
  }
  return TEST_SERVER_WRAPPER;
}

export async function startTimeSkipping(): Promise<TestWorkflowEnvironment> {
  const path = testServerWrapperPath();
  return await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path } } });
}

/** The port of an env's server, from its address (`127.0.0.1:PORT`). */
export function serverPort(env: TestWorkflowEnvironment): number {
  const port = Number(env.address.slice(env.address.lastIndexOf(':') + 1));
  if (!Number.isInteger(port) || port <= 0) throw new Error(`cannot read a port from ${env.address}`);
  return port;
}

/** Live (not zombie) Java test server processes started for `port`, matched on their command line. */
export function testServerPids(port: number): number[] {
  const isOurs = (args: string[]) => {
    const at = args.indexOf(MAIN_CLASS);
    return at >= 0 && args[at + 1] === String(port);
  };
  if (existsSync('/proc/self/cmdline')) {
    const pids: number[] = [];
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
        // A zombie has an empty cmdline, so it never matches: it holds no port and needs no kill.
        if (isOurs(args)) pids.push(Number(entry));
      } catch {
        // The process ended while we looked.
      }
    }
    return pids;
  }
  // No /proc (macOS): ps prints args space-joined, which is enough for these tokens.
  const lines = execFileSync('ps', ['-axo', 'pid=,args='], { encoding: 'utf8' }).split('\n');
  return lines.flatMap((line) => {
    const [pid, ...args] = line.trim().split(/\s+/);
    return pid && isOurs(args) ? [Number(pid)] : [];
  });
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** SIGTERM, then SIGKILL after `graceMs`; resolves once no such process is left. */
export async function killTestServer(port: number, graceMs = 3_000): Promise<void> {
  const signalAll = (signal: NodeJS.Signals) => {
    for (const pid of testServerPids(port)) {
      try {
        process.kill(pid, signal);
      } catch {
        // Already gone.
      }
    }
  };
  if (testServerPids(port).length === 0) return;
  signalAll('SIGTERM');
  for (const deadline = Date.now() + graceMs; Date.now() < deadline; await sleep(50)) {
    if (testServerPids(port).length === 0) return;
  }
  signalAll('SIGKILL');
  for (const deadline = Date.now() + 5_000; Date.now() < deadline; await sleep(50)) {
    if (testServerPids(port).length === 0) return;
  }
  throw new Error(`the Java test server on port ${port} (pids ${testServerPids(port).join(', ')}) survived SIGKILL`);
}

/**
 * Tears the env down and makes sure its Java process is gone. With the generated wrapper's `exec`
 * teardown alone stops it; the check stays because a wrapper without `exec` leaves java orphaned
 * (and teardown then hangs ~60 s), as PLATFORM.md saw.
 */
export async function stopTimeSkipping(env: TestWorkflowEnvironment): Promise<void> {
  const port = serverPort(env);
  try {
    await env.teardown();
  } finally {
    await killTestServer(port);
  }
}
