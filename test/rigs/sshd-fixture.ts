/**
 * A real OpenSSH sshd for the SSH pool's tests, started on 127.0.0.1 with its own host key; the
 * tests log in as an ordinary user with a key from a fixture HOME. `useTestSshd()` starts it for
 * the calling test file and fills in `sshdFixture`.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { SshAddress } from '../../src/rigs/ssh-address';
import { SshPool, type RemoteProcess } from '../../src/rigs/ssh-pool';

export const USER = 'rigsweep-ssh-test';
export const root = mkdtempSync(path.join(os.tmpdir(), 'rigsweep-ssh-pool-'));
const serverDir = path.join(root, 'server');
let sshd: ChildProcess | undefined;
let sshdLog = '';
const pools: SshPool[] = [];

/** What the tests use, filled in before the first test runs. */
export const sshdFixture = { port: 0, rig: undefined as unknown as SshAddress, home: '', hostPublicKey: '' };

export function sh(command: string, args: string[]): string {
  return execFileSync(command, args, { encoding: 'utf8' });
}

export function keygen(file: string, type = 'ed25519', passphrase = ''): string {
  sh('ssh-keygen', ['-q', '-t', type, '-N', passphrase, '-C', '', '-f', file]);
  return readFileSync(`${file}.pub`, 'utf8').trim();
}

/** A client HOME with its own ~/.ssh: an identity key and the given known_hosts text (hashed). */
export function clientHome(name: string, knownHosts: string, identity?: string): string {
  const home = path.join(root, name);
  mkdirSync(path.join(home, '.ssh'), { recursive: true });
  if (identity) {
    copyFileSync(identity, path.join(home, '.ssh/id_ed25519'));
    chmodSync(path.join(home, '.ssh/id_ed25519'), 0o600);
  } else keygen(path.join(home, '.ssh/id_ed25519'));
  writeFileSync(path.join(home, '.ssh/known_hosts'), knownHosts);
  if (knownHosts) {
    execFileSync('ssh-keygen', ['-H', '-f', path.join(home, '.ssh/known_hosts')], { stdio: 'ignore' });
    rmSync(path.join(home, '.ssh/known_hosts.old'));
  }
  return home;
}

export function poolFor(home: string, options: ConstructorParameters<typeof SshPool>[0] = {}): SshPool {
  const pool = new SshPool({ sshEnv: { home, env: {} }, ...options });
  pools.push(pool);
  return pool;
}

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port: free } = server.address() as net.AddressInfo;
      server.close(() => resolve(free));
    });
  });
}

export async function startSshd(): Promise<void> {
  sshd = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', path.join(serverDir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
  sshd.stderr!.on('data', (chunk: Buffer) => (sshdLog += chunk.toString()));
  for (let tries = 0; tries < 100; tries += 1) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = net.connect(sshdFixture.port, '127.0.0.1', () => (socket.destroy(), resolve(true))).on('error', () => resolve(false));
    });
    if (up) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`sshd did not start:\n${sshdLog}`);
}

/** The sshd listener and every process below it (per-connection sshd, the user's commands). */
function sshdTree(): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // the process ended while we looked
    }
  }
  const tree = [sshd!.pid!];
  for (let i = 0; i < tree.length; i += 1) {
    for (const [pid, parent] of parents) if (parent === tree[i]) tree.push(pid);
  }
  return tree;
}

export function signalSshd(signal: NodeJS.Signals): void {
  for (const pid of sshdTree()) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

export async function killSshd(): Promise<void> {
  if (!sshd || sshd.exitCode !== null || sshd.signalCode !== null) return;
  const exited = new Promise((resolve) => sshd!.once('exit', resolve));
  signalSshd('SIGKILL');
  await exited;
}

/** Reads a remote process to the end, as a caller must for `done` to settle. */
export async function finish(remote: RemoteProcess): Promise<{ stdout: string; exit: Awaited<RemoteProcess['done']> }> {
  let stdout = '';
  remote.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  remote.stderr.resume();
  return { exit: await remote.done, stdout };
}

/** A long remote sleep, returned once it runs (so killing the sshd tree also reaches it). */
export async function startedSleep(pool: SshPool): Promise<RemoteProcess> {
  const remote = await pool.exec(sshdFixture.rig, 'echo started; exec sleep 30');
  remote.stderr.resume();
  await new Promise((resolve) => remote.stdout.once('data', resolve));
  remote.stdout.resume();
  return remote;
}

/** Starts the sshd for the calling test file, closes its pools after each test, stops it after all. */
export function useTestSshd(): void {
  beforeAll(async () => {
    try {
      execFileSync('id', [USER], { stdio: 'ignore' });
    } catch {
      sh('useradd', ['-m', USER]);
    }
    sh('usermod', ['-p', '*', USER]);
    mkdirSync('/run/sshd', { recursive: true });
    mkdirSync(serverDir);
    chmodSync(root, 0o755);
    const hostPublicKey = keygen(path.join(serverDir, 'host_ed25519'));
    const port = await freePort();
    sshdFixture.port = port;
    const home = clientHome('home', `[127.0.0.1]:${port} ${hostPublicKey}\n`);
    writeFileSync(path.join(serverDir, 'authorized_keys'), readFileSync(path.join(home, '.ssh/id_ed25519.pub')), { mode: 0o644 });
    const config = [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${serverDir}/host_ed25519`,
      `PidFile ${serverDir}/sshd.pid`,
      `AuthorizedKeysFile ${serverDir}/authorized_keys`,
      `AllowUsers ${USER}`,
      'UsePAM no',
      'StrictModes no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'MaxSessions 10',
      'LogLevel ERROR',
    ];
    writeFileSync(path.join(serverDir, 'sshd_config'), `${config.join('\n')}\n`);
    await startSshd();
    Object.assign(sshdFixture, { rig: { hostname: '127.0.0.1', port, username: USER }, home, hostPublicKey });
  }, 30_000);

  afterEach(async () => {
    await Promise.all(pools.splice(0).map((pool) => pool.close()));
  });

  afterAll(async () => {
    await killSshd();
    rmSync(root, { recursive: true, force: true });
  }, 30_000);
}
