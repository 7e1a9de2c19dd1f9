/**
 * Localhost jobs, run the same way as remote ones: a shell command line, each in its own process
 * group (so one `kill -- -PGID` reaches everything the trial started), with exit code and signal
 * reported like sshd reports them.
 */
import { spawn } from 'node:child_process';
import { copyFile, realpath } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import type { CommandResult, RemoteExit, RemoteProcess } from './ssh-pool';
import { TailBuffer } from './tail-buffer';

export class LocalShell {
  async exec(command: string): Promise<RemoteProcess> {
    const child = spawn('/bin/sh', ['-c', command], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const done = new Promise<RemoteExit>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, signal) => resolve({ exitCode: code, signal: signal ?? null }));
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    return {
      stdout: child.stdout,
      stderr: child.stderr,
      done,
      close: () => {
        child.stdout.destroy();
        child.stderr.destroy();
      },
    };
  }

  async run(command: string, options: { timeoutMs?: number; stdin?: string } = {}): Promise<CommandResult> {
    const startedAt = Date.now();
    const child = spawn('/bin/sh', ['-c', command], { stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    const stdout = new TailBuffer(1024 * 1024);
    const stderr = new TailBuffer(1024 * 1024);
    child.stdout!.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk));
    if (child.stdin) {
      child.stdin.on('error', () => undefined); // a command that exits without reading its stdin
      child.stdin.end(options.stdin);
    }
    let timedOut = false;
    const timer = options.timeoutMs ? setTimeout(() => ((timedOut = true), child.kill('SIGKILL')), options.timeoutMs) : undefined;
    const exit = await new Promise<RemoteExit>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, signal) => resolve({ exitCode: code, signal: signal ?? null }));
    }).finally(() => clearTimeout(timer));
    return { ...exit, stdout: stdout.toString(), stderr: stderr.toString(), timedOut, durationMs: Date.now() - startedAt };
  }

  /** Copies a local file; a file already at its destination (same real path) is left alone. */
  async download(sourcePath: string, localPath: string): Promise<void> {
    const source = isAbsolute(sourcePath) ? sourcePath : join(homedir(), sourcePath);
    const same = await Promise.all([realpath(source), realpath(localPath).catch(() => null)]).then(([a, b]) => a === b);
    if (!same) await copyFile(source, localPath);
  }
}
