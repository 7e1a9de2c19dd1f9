/**
 * Live progress, checked by using it: `rigsweep watch` and `rigsweep run` run inside a real
 * terminal (tmux, 160×40) while a sweep runs on the sshd test rigs, and the screen is read back
 * with `tmux capture-pane`, as a person would look at it. Piped, `watch` prints plain lines.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { quote } from 'shell-quote';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ResultsJson } from '../../src/shared/results';
import { startRigs, type TestRigs } from '../harness/rigs';
import { CLI, runCli, startWorkerProcess, type CliEnv } from '../harness/cli';
import { clusterNodes, writeJobs, writeUserConfig } from '../harness/sweep-fixture';

let rigs: TestRigs;
let env: CliEnv;
let work: string;
let config: string;
let nodeNames: string[];
let worker: Awaited<ReturnType<typeof startWorkerProcess>>;
const TMUX_SOCKET = `rigsweep-watch-it-${process.pid}`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const jobs = (prefix: string, count: number, seconds: (i: number) => string, extra: (i: number) => string[] = () => []) =>
  Array.from({ length: count }, (_, i) => ({
    job_id: `${prefix}${i}`,
    script: 'fake_trial.py',
    args: ['--job', `${prefix}${i}`, '--sleep', seconds(i), '--output', `out/${prefix}${i}.json`, ...extra(i)],
    expected_output: `out/${prefix}${i}.json`,
  }));

function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-L', TMUX_SOCKET, ...args], { encoding: 'utf8' });
}

/** Runs `rigsweep <args>` in a fresh 160×40 terminal; the pane stays open after it exits and says its exit code. */
function startInTerminal(session: string, args: string[]): void {
  const vars = [`HOME=${env.home}`, `TEMPORAL_ADDRESS=${env.temporalAddress}`, `RIGSWEEP_TASK_QUEUE=${env.taskQueue}`];
  const command = `env -u SSH_CONNECTION -u SSH_AUTH_SOCK ${quote([...vars, process.execPath, CLI, ...args])}; echo "[exited $?]"; sleep 600`;
  tmux('new-session', '-d', '-x', '160', '-y', '40', '-s', session, command);
}

/** What the terminal shows now (with `history`, also what scrolled off the top). */
function screen(session: string, history = false): string {
  return tmux('capture-pane', '-p', '-J', '-t', session, ...(history ? ['-S', '-'] : []));
}

/** Captures the screen every 250 ms until the program in it has exited; returns every capture and its exit code. */
async function watchScreen(session: string, timeoutMs = 90_000): Promise<{ captures: string[]; exitCode: number }> {
  const captures: string[] = [];
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const shown = screen(session);
    captures.push(shown);
    const exited = /\[exited (\d+)\]/.exec(shown);
    if (exited) return { captures, exitCode: Number(exited[1]) };
    await sleep(250);
  }
  throw new Error(`${session} did not end in time; the screen:\n${captures.at(-1)}`);
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** A node's line: its name, a GPU strip, busy count and state. */
const nodeLineOf = (name: string) =>
  new RegExp(`^  ${escape(name)}\\s+[■□×]+\\s+(\\d+)/2 busy\\s+(ok|resetting|cooling down)\\s+(\\d+) done, (\\d+) failed`, 'm');
const OVERALL = /\[([█░]{30})\] (\d+)\/(\d+) done · (\d+) failed · (\d+) running · (\d+) retried · \S+\/min · ETA \S+/;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'rigsweep-watch-'));
  chmodSync(work, 0o755);
  rigs = await startRigs({ count: 2, stateDir: join(work, 'rigs') });
  env = { temporalAddress: inject('temporalAddress'), taskQueue: `it-watch-${process.pid}`, home: rigs.home };
  const cluster = clusterNodes(rigs, { localGpus: 2, rigGpus: 2, stagger: 0.2 });
  nodeNames = cluster.nodes.map((node) => node.name);
  config = writeUserConfig(work, 'watch.json', {
    nodes: cluster.configNodes,
    job_batching: { max_jobs_per_batch: 6, max_jobs_per_node_per_batch: 2, inter_batch_cooldown_seconds: 1 },
  });
  worker = await startWorkerProcess(config, env, work);
});

afterAll(async () => {
  try {
    tmux('kill-server');
  } catch {
    // no session was started
  }
  await worker?.stop();
  await rigs?.stop();
});

async function startSweep(name: string, jobList: unknown[], extra: string[] = []): Promise<string> {
  const start = await runCli(
    ['start', '--jobs-file', writeJobs(work, `${name}.json`, jobList), '--preserve-paths', '--config', config, '--output-dir', join(work, 'results'), ...extra],
    env,
  );
  expect(start.exitCode, start.stderr).toBe(0);
  return start.stdout.trim();
}

describe('rigsweep watch in a terminal', () => {
  it('shows the overall bar with its counts and one line per node while the sweep runs, then the final summary', async () => {
    const id = await startSweep(
      'live-jobs',
      jobs('live', 12, () => '2'),
    );
    startInTerminal('watch', ['watch', id]);
    const { captures, exitCode } = await watchScreen('watch');
    const final = captures.at(-1)!;
    expect(exitCode, final).toBe(0);

    const whileRunning = captures.filter((shown) => Number(OVERALL.exec(shown)?.[5] ?? 0) > 0);
    expect(whileRunning.length, captures.join('\n----\n')).toBeGreaterThanOrEqual(3);
    for (const shown of whileRunning) {
      expect(shown).toMatch(new RegExp(`^sweep .*${escape(id)}.* · batch [12]/2 · `, 'm'));
      const [, , done, total, failed] = OVERALL.exec(shown)!;
      expect([Number(done) <= 12, total, failed]).toEqual([true, '12', '0']);
      for (const name of nodeNames) expect(shown, shown).toMatch(nodeLineOf(name));
    }
    // Every node was seen with a GPU busy at some moment.
    for (const name of nodeNames) expect(whileRunning.some((shown) => Number(nodeLineOf(name).exec(shown)?.[1]) > 0)).toBe(true);

    // The last picture stays on screen: a full bar, nothing running, the nodes' results adding up to the sweep's.
    const [, bar, done, total, failed, running] = OVERALL.exec(final)!;
    expect([bar, done, total, failed, running]).toEqual(['█'.repeat(30), '12', '12', '0', '0']);
    const perNode = nodeNames.map((name) => Number(nodeLineOf(name).exec(final)?.[3]));
    expect(
      perNode.reduce((a, b) => a + b, 0),
      final,
    ).toBe(12);
    expect(final).toMatch(new RegExp(`^sweep ${escape(id)} completed in [^:]+: 12/12 done, 0 failed, 0 retried \\(\\S+/min\\)`, 'm'));
    expect(final).not.toMatch(/^ {2}✓ /m); // success lines are left to the bars

    // Watched again after its end: only the summary, with the same totals.
    const again = await runCli(['watch', id], env);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).toMatch(new RegExp(`^sweep ${escape(id)} completed in [^:]+: 12/12 done, 0 failed, 0 retried \\(\\S+/min\\)[^\\n]*\\n$`));
  });

  it('rigsweep run at a terminal shows the live view, logs a failure above it and still prints the Results JSON last', async () => {
    const jobList = jobs(
      'tty',
      6,
      () => '1.5',
      (i) => (i === 3 ? ['--exit-code', '7'] : []),
    );
    startInTerminal('run', [
      'run',
      '--jobs-file',
      writeJobs(work, 'tty-jobs.json', jobList),
      '--preserve-paths',
      '--config',
      config,
      '--output-dir',
      join(work, 'results'),
      '--max-retries',
      '0',
    ]);
    const { captures, exitCode } = await watchScreen('run');
    expect(exitCode).toBe(1);
    expect(captures.some((shown) => OVERALL.test(shown) && nodeNames.every((name) => nodeLineOf(name).test(shown)))).toBe(true);
    const all = screen('run', true);
    expect(all).toMatch(/^ {2}✗ tty3 → \S+:GPU\d \(\d+\.\ds\) EXIT_CODE/m);
    expect(all).not.toMatch(/^ {2}✓ tty/m);
    const results = JSON.parse(all.slice(all.indexOf('Results JSON:') + 'Results JSON:'.length, all.lastIndexOf('[exited'))) as ResultsJson;
    expect(results).toMatchObject({ total_jobs: 6, successful: 5, failed: 1 });
  });

  it('Ctrl-C on rigsweep run at a terminal leaves the last picture and says below it that the sweep is cancelled', async () => {
    startInTerminal('interrupted-run', [
      'run',
      '--jobs-file',
      writeJobs(
        work,
        'ctrlc-jobs.json',
        jobs('ctrlc', 6, () => '60'),
      ),
      '--preserve-paths',
      '--config',
      config,
      '--output-dir',
      join(work, 'results'),
    ]);
    for (let i = 0; i < 120 && !/ 6 running /.test(screen('interrupted-run')); i++) await sleep(250);
    tmux('send-keys', '-t', 'interrupted-run', 'C-c');
    const { exitCode } = await watchScreen('interrupted-run', 60_000);
    expect(exitCode).toBe(3);
    // Then, as after every run, the Results JSON — here the partial one — which scrolls the picture up.
    const all = screen('interrupted-run', true);
    const lines = all
      .slice(0, all.indexOf('Results JSON:'))
      .split('\n')
      .filter((line) => line.trim() !== '');
    expect(lines.filter((line) => line.startsWith('sweep ctrlc-jobs'))).toHaveLength(1); // drawn once, not over itself
    expect(lines.slice(-6).map((line) => line.trim().replace(/^(\S+).*$/, '$1'))).toEqual([
      '[░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░]',
      ...nodeNames,
      'interrupted:',
      'sweep',
    ]);
    expect(lines.at(-1)).toMatch(/^sweep cancelled; partial results in \S+sweep_results\.json$/);
    const partial = JSON.parse(all.slice(all.indexOf('Results JSON:') + 'Results JSON:'.length, all.lastIndexOf('[exited'))) as ResultsJson;
    expect(partial).toMatchObject({ status: 'partial', total_jobs: 6, successful: 0 });
  });
});

describe('rigsweep watch without a terminal', () => {
  it('prints the seed lines and a summary line, and exits 3 when the sweep is cancelled (Ctrl-C on a watch does not cancel)', async () => {
    const id = await startSweep(
      'plain-jobs',
      jobs('plain', 6, (i) => (i < 4 ? '0.3' : '120')),
    );
    const watching = runCli(['watch', id], env);
    const status = async () => (await runCli(['status', id], env)).stdout;
    for (let i = 0; i < 100 && !(await status()).includes('4/6 done'); i++) await sleep(200);
    // Ctrl-C on a watch in a terminal stops watching, not the sweep.
    startInTerminal('interrupted', ['watch', id]);
    for (let i = 0; i < 40 && !OVERALL.test(screen('interrupted')); i++) await sleep(250);
    tmux('send-keys', '-t', 'interrupted', 'C-c');
    const { captures } = await watchScreen('interrupted', 15_000);
    expect(captures.at(-1)).toMatch(/stopped watching .*; the sweep goes on[^]*\[exited 130\]/);
    expect(await status()).toContain(`${id}: RUNNING`);
    expect((await runCli(['cancel', id], env)).exitCode).toBe(0);
    const run = await watching;
    expect(run.exitCode, run.stderr).toBe(3);
    expect(run.stdout).toContain('[BATCH 1/1] 6 jobs');
    expect(run.stdout.match(/^ {2}✓ plain[0-3] → \S+:GPU\d \(\d+\.\ds\)$/gm)).toHaveLength(4);
    expect(run.stdout).toMatch(/^\[PROGRESS\] .*: \d\/6 done · 0 failed · \d running · 0 retried · /m);
    expect(run.stdout.trimEnd().split('\n').at(-1)).toMatch(new RegExp(`^sweep ${escape(id)} cancelled: 4/6 done, 0 failed, 0 retried`));
  });

  it('says there is no such sweep and exits 2', async () => {
    const run = await runCli(['watch', 'no-such-sweep'], env);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain('no sweep with workflow id "no-such-sweep"');
  });
});
