/**
 * The pool against a real OpenSSH sshd that this test starts on 127.0.0.1 with its own host key,
 * logging in as an ordinary user with a key from a fixture HOME.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SshAddress } from '../../src/rigs/ssh-address';
import { HostKeyError, SshAuthError, SshConnectError } from '../../src/rigs/ssh-errors';
import { SshPool, type RemoteProcess } from '../../src/rigs/ssh-pool';

const USER = 'rigsweep-ssh-test';
const root = mkdtempSync(path.join(os.tmpdir(), 'rigsweep-ssh-pool-'));
const serverDir = path.join(root, 'server');
let port: number;
let sshd: ChildProcess | undefined;
let sshdLog = '';
let rig: SshAddress;
const pools: SshPool[] = [];

function sh(command: string, args: string[]): string {
  return execFileSync(command, args, { encoding: 'utf8' });
}

function keygen(file: string, type = 'ed25519', passphrase = ''): string {
  sh('ssh-keygen', ['-q', '-t', type, '-N', passphrase, '-C', '', '-f', file]);
  return readFileSync(`${file}.pub`, 'utf8').trim();
}

/** A client HOME with its own ~/.ssh: an identity key and the given known_hosts text (hashed). */
function clientHome(name: string, knownHosts: string, identity?: string): string {
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

function poolFor(home: string, options: ConstructorParameters<typeof SshPool>[0] = {}): SshPool {
  const pool = new SshPool({ sshEnv: { home, env: {} }, ...options });
  pools.push(pool);
  return pool;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port: free } = server.address() as net.AddressInfo;
      server.close(() => resolve(free));
    });
  });
}

async function startSshd(): Promise<void> {
  sshd = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', path.join(serverDir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
  sshd.stderr!.on('data', (chunk: Buffer) => (sshdLog += chunk.toString()));
  for (let tries = 0; tries < 100; tries += 1) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => (socket.destroy(), resolve(true))).on('error', () => resolve(false));
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

function signalSshd(signal: NodeJS.Signals): void {
  for (const pid of sshdTree()) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

async function killSshd(): Promise<void> {
  if (!sshd || sshd.exitCode !== null || sshd.signalCode !== null) return;
  const exited = new Promise((resolve) => sshd!.once('exit', resolve));
  signalSshd('SIGKILL');
  await exited;
}

/** Reads a remote process to the end, as a caller must for `done` to settle. */
async function finish(remote: RemoteProcess): Promise<{ stdout: string; exit: Awaited<RemoteProcess['done']> }> {
  let stdout = '';
  remote.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  remote.stderr.resume();
  return { exit: await remote.done, stdout };
}

/** A long remote sleep, returned once it runs (so killing the sshd tree also reaches it). */
async function startedSleep(pool: SshPool): Promise<RemoteProcess> {
  const remote = await pool.exec(rig, 'echo started; exec sleep 30');
  remote.stderr.resume();
  await new Promise((resolve) => remote.stdout.once('data', resolve));
  remote.stdout.resume();
  return remote;
}

let home: string;
let hostPublicKey: string;

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
  hostPublicKey = keygen(path.join(serverDir, 'host_ed25519'));
  port = await freePort();
  home = clientHome('home', `[127.0.0.1]:${port} ${hostPublicKey}\n`);
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
  rig = { hostname: '127.0.0.1', port, username: USER };
}, 30_000);

afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.close()));
});

afterAll(async () => {
  await killSshd();
  rmSync(root, { recursive: true, force: true });
}, 30_000);

describe('SshPool against a real sshd', () => {
  it('returns stdout, stderr and the exit code of a command, and passes stdin', async () => {
    const pool = poolFor(home);
    const result = await pool.run(rig, 'echo out; echo err >&2; whoami; exit 3');
    expect(result).toMatchObject({ stdout: `out\n${USER}\n`, stderr: 'err\n', exitCode: 3, signal: null, timedOut: false });
    expect((await pool.run(rig, 'tr a-z A-Z', { stdin: 'hello' })).stdout).toBe('HELLO');
  });

  it('never loses the exit code of a command that ends at once (it arrives with the channel confirmation)', async () => {
    const pool = poolFor(home);
    const results = [];
    for (let round = 0; round < 25; round++) {
      results.push(...(await Promise.all(Array.from({ length: 8 }, (_, i) => pool.run(rig, `exit ${i % 3}`)))));
    }
    expect(results.map((result) => result.exitCode)).toEqual(Array.from({ length: 200 }, (_, i) => i % 8 % 3));
  });

  it('reports the signal that killed a command', async () => {
    const pool = poolFor(home);
    const { exit } = await finish(await pool.exec(rig, 'kill -TERM $$'));
    expect(exit).toEqual({ exitCode: null, signal: 'SIGTERM' });
  });

  it('keeps only the tail of long output', async () => {
    const result = await poolFor(home).run(rig, 'seq 1 100000', { maxOutputBytes: 1000 });
    expect(result.stdout.length).toBeLessThanOrEqual(1000);
    expect(result.stdout.endsWith('99999\n100000\n')).toBe(true);
  });

  it('stops waiting at timeoutMs and says so', async () => {
    const result = await poolFor(home).run(rig, 'sleep 10', { timeoutMs: 300 });
    expect(result.timedOut).toBe(true);
    expect(result.durationMs).toBeLessThan(3000);
  });

  it('runs 15 concurrent commands over exactly 2 connections, opened without a storm', async () => {
    const pool = poolFor(home, { idleConnectionMs: 300 });
    const started = Date.now();
    const remotes = await Promise.all(Array.from({ length: 15 }, (_, i) => pool.exec(rig, `sleep 1; echo ${i}`)));
    expect(pool.connectionCount(rig)).toBe(2);
    const established = sh('ss', ['-Htn', 'state', 'established', `( dport = :${port} )`]).trim().split('\n');
    expect(established).toHaveLength(2);
    const results = await Promise.all(remotes.map(finish));
    expect(results.map((result) => result.stdout)).toEqual(Array.from({ length: 15 }, (_, i) => `${i}\n`));
    expect(results.every((result) => result.exit.exitCode === 0)).toBe(true);
    expect(Date.now() - started).toBeLessThan(2500);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(pool.connectionCount(rig)).toBe(1);
  }, 15_000);

  it("spills onto a second connection when the rig's MaxSessions is below the pool's limit", async () => {
    const pool = poolFor(home, { maxSessionsPerConnection: 20 });
    const remotes = await Promise.all(Array.from({ length: 12 }, () => pool.exec(rig, 'sleep 0.5')));
    expect(pool.connectionCount(rig)).toBe(2);
    const results = await Promise.all(remotes.map(finish));
    expect(results.every((result) => result.exit.exitCode === 0)).toBe(true);
  }, 15_000);

  it('answers a warm round trip in a few milliseconds', async () => {
    const pool = poolFor(home);
    await pool.run(rig, 'true');
    const times: number[] = [];
    for (let i = 0; i < 50; i += 1) times.push((await pool.run(rig, 'true')).durationMs);
    times.sort((a, b) => a - b);
    const median = times[25];
    console.log(`warm run('true') on loopback: median ${median.toFixed(2)} ms, min ${times[0].toFixed(2)}, max ${times[49].toFixed(2)}`);
    expect(median).toBeLessThan(40);
  }, 30_000);

  it('refuses an unknown host key and gives the known_hosts line to add', async () => {
    const stranger = clientHome('stranger', '', path.join(home, '.ssh/id_ed25519'));
    const error = await poolFor(stranger).run(rig, 'true').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(HostKeyError);
    expect((error as HostKeyError).problem).toBe('unknown');
    const line = `[127.0.0.1]:${port} ${hostPublicKey.split(' ').slice(0, 2).join(' ')}`;
    expect((error as Error).message).toMatch(/^127\.0\.0\.1: host key of .* is unknown/);
    expect((error as Error).message).toContain('~/.ssh/known_hosts');
    expect((error as Error).message).toContain(`\n${line}`);
  });

  it('refuses a changed host key', async () => {
    const impostor = keygen(path.join(root, 'impostor_host'));
    const wary = clientHome('wary', `[127.0.0.1]:${port} ${impostor}\n`, path.join(home, '.ssh/id_ed25519'));
    const error = await poolFor(wary).run(rig, 'true').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(HostKeyError);
    expect((error as HostKeyError).problem).toBe('changed');
    expect((error as Error).message).toContain('CHANGED');
  });

  it('reports a refused port as a connect error', async () => {
    const closedPort = await freePort();
    const error = await poolFor(home).run({ ...rig, port: closedPort }, 'true').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SshConnectError);
    expect((error as Error).message).toMatch(/^127\.0\.0\.1: cannot connect .*connection refused/);
  });

  it('reports a key the rig does not accept as an auth error naming the user and keys', async () => {
    const outsider = clientHome('outsider', `[127.0.0.1]:${port} ${hostPublicKey}\n`);
    keygen(path.join(outsider, '.ssh/id_ecdsa'), 'ecdsa', 'secret');
    const error = await poolFor(outsider).run(rig, 'true').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SshAuthError);
    const message = (error as Error).message;
    expect(message).toContain(`${USER}@127.0.0.1:${port}`);
    expect(message).toContain('~/.ssh/id_ed25519 (ssh-ed25519)');
    expect(message).toMatch(/skipped ~\/\.ssh\/id_ecdsa \(encrypted/);
  });

  it('logs in with a key held by ssh-agent, and falls back to key files when the agent is gone', async () => {
    const socket = path.join(root, 'agent.sock');
    const agent = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
    try {
      for (let tries = 0; tries < 100 && !existsSync(socket); tries += 1) await new Promise((resolve) => setTimeout(resolve, 20));
      execFileSync('ssh-add', [path.join(home, '.ssh/id_ed25519')], { env: { ...process.env, SSH_AUTH_SOCK: socket }, stdio: 'ignore' });
      const keyless = clientHome('keyless', `[127.0.0.1]:${port} ${hostPublicKey}\n`);
      const viaAgent = poolFor(keyless, { sshEnv: { home: keyless, env: { SSH_AUTH_SOCK: socket } } });
      expect((await viaAgent.run(rig, 'echo agent')).stdout).toBe('agent\n');
      const staleAgent = poolFor(home, { sshEnv: { home, env: { SSH_AUTH_SOCK: path.join(root, 'gone.sock') } } });
      expect((await staleAgent.run(rig, 'echo file')).stdout).toBe('file\n');
    } finally {
      agent.kill();
    }
  });

  it('fails running commands when sshd dies, and reconnects when it is back', async () => {
    const pool = poolFor(home);
    const remote = await startedSleep(pool);
    await killSshd();
    await expect(remote.done).rejects.toBeInstanceOf(SshConnectError);
    expect(pool.connectionCount(rig)).toBe(0);
    await startSshd();
    expect((await pool.run(rig, 'echo back')).stdout).toBe('back\n');
    expect(pool.connectionCount(rig)).toBe(1);
  }, 20_000);

  it('notices a frozen rig through keepalives within ~5 s, and reconnects after', async () => {
    const pool = poolFor(home);
    const remote = await startedSleep(pool);
    signalSshd('SIGSTOP');
    const frozenAt = Date.now();
    const error = await remote.done.catch((caught: unknown) => caught);
    const noticedAfterMs = Date.now() - frozenAt;
    console.log(`frozen rig noticed after ${noticedAfterMs} ms`);
    expect(error).toBeInstanceOf(SshConnectError);
    expect((error as Error).message).toContain('keepalives');
    expect(noticedAfterMs).toBeLessThan(5000);
    await killSshd();
    await startSshd();
    expect((await pool.run(rig, 'echo thawed')).stdout).toBe('thawed\n');
  }, 30_000);
});
