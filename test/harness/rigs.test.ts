// Self-test of the test-rig harness, with OpenSSH's own ssh client. Needs root.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { readCalls, readTrialRecords, startRigs, TestRigs } from './rigs';
import { runProcess } from './run-process';

const execFileP = promisify(execFile);

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

async function run(cmd: string, args: string[], input?: string): Promise<RunResult> {
  const { exitCode, stdout, stderr } = await runProcess(cmd, args, { input: input ?? '' });
  return { code: exitCode, stdout, stderr };
}

const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

describe('test rigs harness', { timeout: 30_000 }, () => {
  let stateDir: string;
  let rigs: TestRigs;

  const ssh = (index: number, command: string, input?: string, extra: string[] = []) =>
    run(
      'ssh',
      [
        '-F',
        'none',
        '-i',
        rigs.identityFile,
        '-o',
        `UserKnownHostsFile=${rigs.knownHostsFile}`,
        '-o',
        'StrictHostKeyChecking=yes',
        '-o',
        'BatchMode=yes',
        '-o',
        'IdentitiesOnly=yes',
        ...extra,
        `${rigs.user}@${rigs.rigs[index - 1].address}`,
        command,
      ],
      input,
    );

  beforeAll(async () => {
    stateDir = mkdtempSync(path.join(os.tmpdir(), 'rigsweep-rigs-'));
    rigs = await startRigs({ count: 2, stateDir });
  }, 60_000);

  afterAll(async () => {
    await rigs?.stop();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  }, 60_000);

  it('describes the rigs', () => {
    expect(rigs.user).toBe('rigsweep-rig');
    expect(rigs.home).toBe(path.join(stateDir, 'home'));
    expect(rigs.rigs.map((r) => [r.index, r.name, r.address, r.netns])).toEqual([
      [1, 'rig1', '10.231.0.11', 'rsw-rig1'],
      [2, 'rig2', '10.231.0.12', 'rsw-rig2'],
    ]);
    expect(rigs.rigs[0].scriptPath).toBe('/srv/rigsweep-rig/work');
    expect(existsSync(path.join(rigs.rigs[0].workDir, 'fake_trial.py'))).toBe(true);
    expect(existsSync(path.join(rigs.localWorkDir, 'fake_trial.py'))).toBe(true);
    expect(existsSync(path.join(rigs.home, '.ssh', 'config'))).toBe(true);
    expect(readFileSync(path.join(rigs.home, '.ssh', 'id_ed25519'), 'utf8')).toContain('BEGIN OPENSSH PRIVATE KEY');
  });

  it('logs in as rigsweep-rig with hashed known_hosts', async () => {
    const lines = readFileSync(rigs.knownHostsFile, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(line).toMatch(/^\|1\|\S+ ssh-ed25519 /);
    expect(existsSync(rigs.knownHostsFile + '.old')).toBe(false);
    for (const i of [1, 2]) {
      const r = await ssh(i, 'whoami; hostname; echo "$SSH_CONNECTION"');
      expect(r.stderr).toBe('');
      expect(r.stdout.split('\n').slice(0, 2)).toEqual(['rigsweep-rig', `rig${i}`]);
      expect(r.stdout).toContain(` ${rigs.rigs[i - 1].address} 22`);
    }
  });

  it('gives each rig its own /srv/rigsweep-rig', async () => {
    expect((await ssh(1, 'echo from-rig1 > /srv/rigsweep-rig/marker')).code).toBe(0);
    expect((await ssh(1, 'cat /srv/rigsweep-rig/marker')).stdout).toBe('from-rig1\n');
    expect((await ssh(2, 'test -e /srv/rigsweep-rig/marker')).code).toBe(1);
    expect(readFileSync(path.join(rigs.rigs[0].diskDir, 'marker'), 'utf8')).toBe('from-rig1\n');
    expect(existsSync(path.join(rigs.rigs[1].diskDir, 'marker'))).toBe(false);
    expect(existsSync('/srv/rigsweep-rig/marker')).toBe(false);
  });

  it('puts the stand-ins first on PATH and records sudo calls', async () => {
    for (const cmd of ['command -v sudo', 'bash -c "command -v sudo"', 'bash -lc "command -v sudo"']) {
      expect((await ssh(1, cmd)).stdout).toBe(`${rigs.standinDir}/sudo\n`);
    }
    expect((await ssh(1, '/usr/bin/env')).stdout).toContain(`PATH=${rigs.standinDir}:`);

    const r = await ssh(1, 'sudo -n tee /proc/sys/vm/drop_caches', '3\n');
    expect(r).toEqual({ code: 0, stdout: '3\n', stderr: '' });
    const calls = readCalls(rigs.rigs[0].callsLog);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({
      tool: 'sudo',
      argv: ['-n', 'tee', '/proc/sys/vm/drop_caches'],
      stdin: '3\n',
    });
    expect(readCalls(rigs.rigs[1].callsLog)).toEqual([]);

    await execFileP('touch', [path.join(rigs.rigs[1].diskDir, 'sudo-fails')]);
    const f = await ssh(2, 'sudo -n tee /proc/sys/vm/drop_caches', '3\n');
    expect(f.code).toBe(1);
    expect(f.stderr).toContain('sudo: a password is required');

    await execFileP('bash', ['-c', `echo 2 > ${sq(path.join(rigs.rigs[1].diskDir, 'gpu_count'))}`]);
    await execFileP('touch', [path.join(rigs.rigs[1].diskDir, 'gpu-unknown')]);
    const smi = await ssh(2, 'rocm-smi');
    expect(smi.code).toBe(0);
    const gpuLines = smi.stdout.split('\n').filter((l) => /^\d+\s/.test(l));
    expect(gpuLines).toHaveLength(2);
    expect(gpuLines[1]).toContain('unknown');
    expect(readCalls(rigs.rigs[1].callsLog).map((c) => c.tool)).toEqual(['sudo', 'rocm-smi']);
  });

  it('runs the fake trial on a rig', async () => {
    const odd = `it's "odd" $HOME; \`id\`\n{"json": [1]}`;
    const args = [odd, '--gpu-id', '3', '--output', 'out/t.json', '--accuracy', '-inf', '--sleep', '0.1'];
    const cmd = `cd /srv/rigsweep-rig/work && ${rigs.rocmPython} -u fake_trial.py ${args.map(sq).join(' ')}`;
    const r = await ssh(2, cmd);
    expect(r.code).toBe(0);
    const summary = r.stdout.trim().split('\n').pop()!;
    expect(summary).toContain('"accuracy": -Infinity');

    const recs = readTrialRecords(rigs.rigs[1].workDir);
    expect(recs.map((x) => x.event)).toEqual(['start', 'end']);
    for (const rec of recs) {
      expect(rec.argv).toEqual(args);
      expect(rec.node).toBe('10.231.0.12');
      expect(rec.gpu_id).toBe('3');
      expect(rec.cwd).toBe('/srv/rigsweep-rig/work');
      expect(rec.env.PATH?.startsWith(`${rigs.standinDir}:`)).toBe(true);
    }
    expect(recs[0].pid).toBe(recs[1].pid);
    expect(recs[0].proc_start).toBeLessThanOrEqual(recs[0].t);
    expect(recs[0].t - recs[0].proc_start!).toBeLessThan(5);
    expect(recs[1].exit_code).toBe(0);
    expect(readTrialRecords(rigs.rigs[0].workDir)).toEqual([]);

    const result = readFileSync(path.join(rigs.rigs[1].workDir, 'out', 't.json'), 'utf8');
    expect(result).toContain('"accuracy": -Infinity');
    expect(result).toContain('"hostname": "rig2"');
  });

  it('cut makes a rig unreachable and restore brings it back', async () => {
    const opts = ['-o', 'ConnectTimeout=2'];
    await rigs.cut(1);
    const cut = await ssh(1, 'true', undefined, opts);
    expect(cut.code).toBe(255);
    expect((await ssh(2, 'true', undefined, opts)).code).toBe(0);
    await rigs.restore(1);
    expect((await ssh(1, 'true', undefined, opts)).code).toBe(0);
  });

  it('down leaves nothing behind', async () => {
    // Leave a process running on a rig that ignores SIGTERM: down must still clean up.
    await ssh(1, 'cd /srv/rigsweep-rig/work; nohup python3 fake_trial.py --ignore-term --sleep 600 </dev/null >/dev/null 2>&1 &');
    await rigs.stop();
    const netns = (await execFileP('ip', ['netns', 'list'])).stdout;
    expect(netns).not.toMatch(/rsw-rig/);
    const links = (await execFileP('ip', ['-o', 'link', 'show'])).stdout;
    expect(links).not.toMatch(/rswh\d|rswbr0/);
    const procs = (await execFileP('ps', ['-eo', 'user:20,stat,args'])).stdout.split('\n').filter((l) => !/\sZ/.test(l));
    expect(procs.filter((l) => l.includes(stateDir))).toEqual([]);
    expect(procs.filter((l) => l.startsWith('rigsweep-rig '))).toEqual([]);
  });
});
