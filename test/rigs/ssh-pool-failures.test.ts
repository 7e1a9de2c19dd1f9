/**
 * The pool against a real OpenSSH sshd when things go wrong: untrusted host keys, refused ports
 * and logins, ssh-agent coming and going, and a rig that dies or freezes mid-command.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SshAddress } from '../../src/rigs/ssh-address';
import { HostKeyError, SshAuthError, SshConnectError } from '../../src/rigs/ssh-errors';
import { clientHome, freePort, keygen, killSshd, poolFor, root, signalSshd, sshdFixture, startedSleep, startSshd, USER, useTestSshd } from './sshd-fixture';

useTestSshd();
let rig: SshAddress;
let home: string;
let port: number;
let hostPublicKey: string;
beforeAll(() => void ({ rig, home, port, hostPublicKey } = sshdFixture));

describe('SshPool against a real sshd, when things go wrong', () => {
  it('refuses an unknown host key and gives the known_hosts line to add', async () => {
    const stranger = clientHome('stranger', '', path.join(home, '.ssh/id_ed25519'));
    const error = await poolFor(stranger)
      .run(rig, 'true')
      .catch((caught: unknown) => caught);
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
    const error = await poolFor(wary)
      .run(rig, 'true')
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(HostKeyError);
    expect((error as HostKeyError).problem).toBe('changed');
    expect((error as Error).message).toContain('CHANGED');
  });

  it('trusts a new host only with StrictHostKeyChecking accept-new in ~/.ssh/config, records its key, and still refuses a changed one', async () => {
    const acceptNew = 'Host 127.0.0.1\n  StrictHostKeyChecking accept-new\n';
    const trusting = clientHome('trusting', '', path.join(home, '.ssh/id_ed25519'));
    writeFileSync(path.join(trusting, '.ssh', 'config'), acceptNew);
    expect((await poolFor(trusting).run(rig, 'echo hi')).stdout).toBe('hi\n');
    const line = `[127.0.0.1]:${port} ${hostPublicKey.split(' ').slice(0, 2).join(' ')}`;
    expect(readFileSync(path.join(trusting, '.ssh', 'known_hosts'), 'utf8')).toBe(`${line}\n`);

    const impostor = keygen(path.join(root, 'impostor_host_2'));
    const wary = clientHome('wary-accept-new', `[127.0.0.1]:${port} ${impostor}\n`, path.join(home, '.ssh/id_ed25519'));
    writeFileSync(path.join(wary, '.ssh', 'config'), acceptNew);
    const error = await poolFor(wary)
      .run(rig, 'true')
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(HostKeyError);
    expect((error as HostKeyError).problem).toBe('changed');
  });

  it('reports a refused port as a connect error', async () => {
    const closedPort = await freePort();
    const error = await poolFor(home)
      .run({ ...rig, port: closedPort }, 'true')
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SshConnectError);
    expect((error as Error).message).toMatch(/^127\.0\.0\.1: cannot connect .*connection refused/);
  });

  it('reports a key the rig does not accept as an auth error naming the user and keys', async () => {
    const outsider = clientHome('outsider', `[127.0.0.1]:${port} ${hostPublicKey}\n`);
    keygen(path.join(outsider, '.ssh/id_ecdsa'), 'ecdsa', 'secret');
    const error = await poolFor(outsider)
      .run(rig, 'true')
      .catch((caught: unknown) => caught);
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

  it('notices a frozen rig through keepalives, and reconnects after', async () => {
    const pool = poolFor(home);
    const remote = await startedSleep(pool);
    signalSshd('SIGSTOP');
    const frozenAt = Date.now();
    const error = await remote.done.catch((caught: unknown) => caught);
    const noticedAfterMs = Date.now() - frozenAt;
    console.log(`frozen rig noticed after ${noticedAfterMs} ms`);
    expect(error).toBeInstanceOf(SshConnectError);
    // Only keepalives can notice a frozen peer (the TCP connection itself stays up); the time is in the log.
    expect((error as Error).message).toContain('keepalives');
    await killSshd();
    await startSshd();
    expect((await pool.run(rig, 'echo thawed')).stdout).toBe('thawed\n');
  }, 30_000);
});
