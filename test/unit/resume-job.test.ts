/**
 * A job's worker lost at each phase of an attempt, and the retry Temporal runs after it: the real
 * `runJob` activity under MockActivityEnvironment, its jobs run for real under /bin/sh on this
 * machine. The lost worker is a node shell that goes dead at the chosen moment — its channel to
 * the job closed, every later command refused — as a worker killed -9 looks from the node; the
 * retry gets the lost attempt's last heartbeat, as Temporal hands it over. What the user would
 * check is read back from the trial's own log: how often it started, whether it was killed.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import { runJobActivity, type RunJobDeps, type RunJobInput } from '../../src/activities/run-job';
import { jobFiles, parseEndRecord } from '../../src/rigs/end-record';
import { LocalShell } from '../../src/rigs/local-shell';
import type { NodeShell, RemoteProcess } from '../../src/rigs/node-shell';
import { NODE_STATE_DIR } from '../../src/rigs/node-permits';
import type { AttemptResult } from '../../src/shared/results';
import type { SweepNode } from '../../src/shared/nodes';
import { localNodeAt } from './local-node';

const work = mkdtempSync(join(tmpdir(), 'rigsweep-resume-'));
const results = mkdtempSync(join(tmpdir(), 'rigsweep-resume-results-'));
// The trial: logs its start and end (its pid) in its own log, sleeps, writes its output, says something on stderr.
writeFileSync(
  join(work, 'trial.sh'),
  [
    'log=$3; echo "start $$" >> "$log"',
    'trap \'echo "killed $$" >> "$log"; exit 143\' TERM',
    'sleep "$1" & wait $!',
    'printf \'{"accuracy": 0.5}\\n\' > "$2"',
    'echo "end $$" >> "$log"',
    'echo "trial says hello on stderr" >&2',
    'exit "$4"',
  ].join('\n'),
);
/** A GPU no other test on this machine uses: the start permits' locks are in the node's shared folder. */
const GPU = 12;
const localNode = localNodeAt(work);
/** A rig as rigsweep treats it (a lease and its watchdog), reached through this machine's shell. */
const rigNode: SweepNode = { ...localNode, name: 'rig-here', hostname: 'rig-here', isLocal: false };
const sweepId = `resume-${process.pid}`;

let count = 0;
function jobInput(options: {
  sleep: number;
  exitCode?: number;
  node?: SweepNode;
  leaseSeconds?: number;
  timeout?: number;
}): RunJobInput & { log: string; sleep: number } {
  const id = `job ${++count}/../x`;
  const output = `out-${count}.json`;
  const log = `runs-${count}.log`;
  const job = {
    kind: 'script' as const,
    job_id: id,
    script: 'trial.sh',
    args: [String(options.sleep), output, log, String(options.exitCode ?? 0)],
    expected_output: output,
    timeout: options.timeout ?? 60,
  };
  const node = options.node ?? localNode;
  return {
    runId: 'run',
    sweepId,
    startKey: String(count),
    node,
    gpu: GPU,
    job,
    batch: 1,
    attempt: 1,
    resultsDir: results,
    leaseSeconds: options.leaseSeconds,
    reportStart: true,
    log,
    sleep: options.sleep,
  };
}

/** The trial's log: one line per start, end and kill. */
function runs(input: { log: string }) {
  const path = join(work, input.log);
  const lines = existsSync(path) ? readFileSync(path, 'utf8').trim().split('\n') : [];
  return {
    starts: lines.filter((l) => l.startsWith('start')).length,
    ends: lines.filter((l) => l.startsWith('end')).length,
    kills: lines.filter((l) => l.startsWith('killed')).length,
  };
}

const groupAlive = (pgid: number) =>
  execFileSync('ps', ['-e', '-o', 'pgid=,stat='], { encoding: 'utf8' })
    .split('\n')
    .some((line) => {
      const [group, stat] = line.trim().split(/\s+/);
      return Number(group) === pgid && !stat.startsWith('Z');
    });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
async function until(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** A node shell that dies with its worker on `die()`: the job's channel is closed and no command gets through any more. */
class DyingShell implements NodeShell {
  private readonly live = new LocalShell();
  private readonly processes: RemoteProcess[] = [];
  dead = false;
  /** Called with each command before it runs; may kill the worker just then. */
  beforeRun: (command: string) => void = () => undefined;

  die(): void {
    this.dead = true;
    for (const process of this.processes) process.close();
  }
  async exec(command: string): Promise<RemoteProcess> {
    if (this.dead) throw new Error('worker is dead');
    const process = await this.live.exec(command);
    this.processes.push(process);
    return process;
  }
  async run(command: string, options?: { timeoutMs?: number; stdin?: string }) {
    this.beforeRun(command);
    if (this.dead) throw new Error('worker is dead');
    return this.live.run(command, options);
  }
  async download(remotePath: string, localPath: string) {
    if (this.dead) throw new Error('worker is dead');
    return this.live.download(remotePath, localPath);
  }
}

const deps = (shell: NodeShell, onStarted: () => void = () => undefined): RunJobDeps => ({
  shellFor: () => shell,
  reportStarted: () => Promise.resolve(onStarted()),
  killGraceSeconds: 1,
  heartbeatIntervalMs: 200,
});

type Phase = 'waiting for its permit' | 'running' | 'ended, not yet reported';

/**
 * Runs the job's first attempt until its worker dies at `phase`; returns its last heartbeat. The
 * dead attempt's activity is then cancelled, only so that it unwinds here: its dead shell lets
 * nothing reach the node.
 */
async function loseWorker(input: RunJobInput, phase: Phase, options: { runningForMs?: number } = {}): Promise<unknown> {
  const shell = new DyingShell();
  const env = new MockActivityEnvironment({ attempt: 1 }, { logger: keptLog([]) });
  const die = () => (shell.die(), env.cancel());
  let last: unknown;
  env.on('heartbeat', (details: unknown) => {
    last = details;
    if (phase === 'waiting for its permit' && (details as { pgid?: number }).pgid && !shell.dead) die();
  });
  if (phase === 'ended, not yet reported') shell.beforeRun = (command) => command.includes('RIGSWEEP_STDERR_TAIL') && die();
  const started = () => phase === 'running' && setTimeout(die, options.runningForMs ?? 0);
  await expect(env.run(runJobActivity, deps(shell, started), input)).rejects.toThrow();
  expect(shell.dead).toBe(true);
  return last;
}

/** A logger that keeps the lines of an activity's log, `<message> <meta as JSON>`. */
function keptLog(logged: string[]): Logger {
  const keep = (message: string, meta?: Record<string, unknown>) => void logged.push(`${message} ${JSON.stringify(meta ?? {})}`);
  return { log: (_level, message, meta) => keep(message, meta), trace: keep, debug: keep, info: keep, warn: keep, error: keep };
}

/** The retry Temporal runs after the lost attempt, on a live worker, with the lost attempt's last heartbeat. */
async function retry(input: RunJobInput, heartbeatDetails: unknown, logged: string[] = []): Promise<AttemptResult> {
  const env = new MockActivityEnvironment({ attempt: 2, heartbeatDetails }, { logger: keptLog(logged) });
  return env.run(runJobActivity, deps(new LocalShell()), input);
}

/** Holds GPU `GPU`'s lock on this node until released, so a job there waits for its permit. */
async function holdGpu(): Promise<() => void> {
  const lock = `${NODE_STATE_DIR}/gpu-${GPU}.lock`;
  const holder = spawn('/bin/sh', ['-c', `(umask 0; mkdir -p -m 1777 ${NODE_STATE_DIR}; : >> ${lock}); exec 8<${lock}; flock 8; echo held; exec sleep 60`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise((resolve) => holder.stdout.once('data', resolve));
  return () => holder.kill('SIGKILL');
}

/** What a user checks of a job whose trial a retry took over: one run, a result as its own, its output home, the log saying so. */
function expectTakenOver(input: ReturnType<typeof jobInput>, result: AttemptResult, logged: string[], resumed: 'adopted' | 'reattached'): void {
  expect(result).toMatchObject({ success: true, resumed, exit_code: 0, signal: null, failure_mode: null });
  expect(result.stderr_tail).toContain('trial says hello on stderr');
  expect(result.runtime).toBeGreaterThanOrEqual(input.sleep);
  expect(readFileSync(result.local_output!, 'utf8')).toBe('{"accuracy": 0.5}\n');
  expect(runs(input)).toEqual({ starts: 1, ends: 1, kills: 0 });
  expect(logged.some((line) => line.includes(`"resumed":"${resumed}"`))).toBe(true);
}

describe('a retry after its worker was lost', () => {
  it('while the job waited for its start permit: kills the waiting copy and runs the job once', async () => {
    const input = jobInput({ sleep: 0.2 });
    const release = await holdGpu();
    const lost = await loseWorker(input, 'waiting for its permit');
    const { pgid } = lost as { pgid: number };
    const retried = retry(input, lost);
    try {
      // Killed by the retry while the GPU is still held, not merely ended at its GO by a dead channel.
      await until('the waiting copy is killed', () => !groupAlive(pgid), 5000);
    } finally {
      release();
    }
    const result = await retried;
    expect(result).toMatchObject({ success: true });
    expect(result.resumed).toBeUndefined();
    expect(runs(input)).toEqual({ starts: 1, ends: 1, kills: 0 });
  });

  it('while its trial ran: re-attaches to it and waits for its end — one run, not killed', async () => {
    const input = jobInput({ sleep: 2 });
    const logged: string[] = [];
    const result = await retry(input, await loseWorker(input, 'running'), logged);
    expectTakenOver(input, result, logged, 'reattached');
  });

  it('after its trial ended, before the end was reported: adopts the end record — one run, judged and copied home', async () => {
    const input = jobInput({ sleep: 0.3 });
    const logged: string[] = [];
    const result = await retry(input, await loseWorker(input, 'ended, not yet reported'), logged);
    expectTakenOver(input, result, logged, 'adopted');
  });

  it('adopts a failed end as the failure it was, exactly as if it had seen it', async () => {
    const input = jobInput({ sleep: 0.1, exitCode: 3 });
    const result = await retry(input, await loseWorker(input, 'ended, not yet reported'));
    expect(result).toMatchObject({ success: false, resumed: 'adopted', exit_code: 3, failure_mode: 'EXIT_CODE' });
    expect(runs(input).starts).toBe(1);
  });

  it('after its trial ended, when its output changed since: does not adopt it and runs the job again', async () => {
    const input = jobInput({ sleep: 0.1 });
    const lost = await loseWorker(input, 'ended, not yet reported');
    writeFileSync(join(work, input.job.expected_output!), '{"accuracy": 0.9}\n');
    const result = await retry(input, lost);
    expect(result).toMatchObject({ success: true });
    expect(result.resumed).toBeUndefined();
    expect(runs(input).starts).toBe(2);
    expect(readFileSync(result.local_output!, 'utf8')).toBe('{"accuracy": 0.5}\n');
  });

  it("does not adopt a record that does not parse, nor another process group's: runs the job again", async () => {
    for (const spoil of [
      (text: string) => text.replace('\nend\n', '\n'),
      (text: string) => text.replace(/^pgid (\d+)$/m, (_line, pgid) => `pgid ${Number(pgid) + 1}`),
    ]) {
      const input = jobInput({ sleep: 0.1 });
      const lost = await loseWorker(input, 'ended, not yet reported');
      const { record } = jobFiles(NODE_STATE_DIR, sweepId, input.job.job_id, input.attempt);
      writeFileSync(record, spoil(readFileSync(record, 'utf8')));
      const result = await retry(input, lost);
      expect(result.resumed).toBeUndefined();
      expect(runs(input).starts).toBe(2);
    }
  });

  it('on a rig whose lease ran out while the worker was gone: the rig killed the trial, and the job runs again', async () => {
    const input = jobInput({ sleep: 5, node: rigNode, leaseSeconds: 2 });
    const lost = await loseWorker(input, 'running');
    const { record } = jobFiles(NODE_STATE_DIR, sweepId, input.job.job_id, input.attempt);
    await until('the rig fenced the lost copy', () => existsSync(record));
    expect(parseEndRecord(readFileSync(record, 'utf8'))).toMatchObject({ fenced: true });
    const result = await retry(input, lost);
    expect(result).toMatchObject({ success: true });
    expect(result.resumed).toBeUndefined();
    expect(runs(input)).toEqual({ starts: 2, ends: 1, kills: 1 });
  }, 30_000);

  it('on a rig, while its trial ran: re-attaches and renews its lease, so the rig does not kill it', async () => {
    const input = jobInput({ sleep: 6, node: rigNode, leaseSeconds: 4 });
    const lost = await loseWorker(input, 'running');
    const result = await retry(input, lost);
    expect(result).toMatchObject({ success: true, resumed: 'reattached' });
    expect(runs(input)).toEqual({ starts: 1, ends: 1, kills: 0 });
  }, 30_000);

  it("holds a re-attached trial to the job's timeout, counted from its start", async () => {
    const input = jobInput({ sleep: 30, timeout: 4 });
    const lost = await loseWorker(input, 'running', { runningForMs: 2000 });
    const retried = Date.now();
    const result = await retry(input, lost);
    expect(result).toMatchObject({ success: false, failure_mode: 'TIMEOUT', resumed: 'reattached' });
    // 4 s of timeout, 2 s of them spent before the worker was lost; then the kill's 1 s grace at most.
    expect((Date.now() - retried) / 1000).toBeLessThan(4 - 2 + 1 + 0.5);
    expect(runs(input)).toMatchObject({ starts: 1, kills: 1 });
  }, 30_000);
});

describe('an attempt that sees its trial end', () => {
  it('judges the end its node-side shell recorded: a trial killed by a signal is KILLED (its shell exits 137), with its stderr', async () => {
    const job = { kind: 'trial' as const, job_id: `fresh ${++count}`, trial: count, command: 'echo dying words >&2; kill -KILL $$', timeout: 30 };
    const input = { ...jobInput({ sleep: 0 }), job };
    const result = await retry(input, undefined);
    expect(result).toMatchObject({ success: false, failure_mode: 'KILLED', signal: 'SIGKILL', exit_code: null });
    expect(result.stderr_tail).toMatch(/^dying words\n/);
  });
});
