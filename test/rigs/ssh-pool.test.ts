/**
 * The pool against a real OpenSSH sshd: commands, exit codes, signals, output, timeouts, and how
 * channels spread over pooled connections.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { SshAddress } from '../../src/rigs/ssh-address';
import { finish, poolFor, sh, sshdFixture, USER, useTestSshd } from './sshd-fixture';

useTestSshd();
let rig: SshAddress;
let home: string;
let port: number;
beforeAll(() => void ({ rig, home, port } = sshdFixture));

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
    expect(results.map((result) => result.exitCode)).toEqual(Array.from({ length: 200 }, (_, i) => (i % 8) % 3));
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
    // All 15 channels open at once (each command still sleeping) on two connections.
    const remotes = await Promise.all(Array.from({ length: 15 }, (_, i) => pool.exec(rig, `sleep 1; echo ${i}`)));
    expect(pool.connectionCount(rig)).toBe(2);
    const established = sh('ss', ['-Htn', 'state', 'established', `( dport = :${port} )`])
      .trim()
      .split('\n');
    expect(established).toHaveLength(2);
    const results = await Promise.all(remotes.map(finish));
    expect(results.map((result) => result.stdout)).toEqual(Array.from({ length: 15 }, (_, i) => `${i}\n`));
    expect(results.every((result) => result.exit.exitCode === 0)).toBe(true);
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
});
