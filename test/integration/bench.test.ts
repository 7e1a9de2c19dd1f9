/**
 * `rigsweep bench` end to end — the real CLI, worker, server and sshd rigs — read back from what
 * the rigs recorded: every trial got its value's arguments, the values ran one after another
 * with the cooldown between them, and the table and recommendation say what the records say.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { benchJson } from '../../src/cli/bench-table';
import type { ResultsJson } from '../../src/shared/results';
import { readJson } from '../harness/read-json';
import type { TestRigs } from '../harness/rigs';
import { runCli, type CliEnv, type CliRun } from '../harness/cli';
import { collectRuns, writeUserConfig, type NodeUnderTest, type TrialRun, startTestCluster } from '../harness/sweep-fixture';

const VALUES = ['100', '200', '300'];
const TRIALS = 6;
const COOLDOWN = 1;
// Process start times come in 10 ms clock ticks, so a start can look up to one tick early.
const TICK = 0.011;

type BenchJson = ReturnType<typeof benchJson>;

let rigs: TestRigs;
let env: CliEnv;
let work: string;
let nodes: NodeUnderTest[];
let configFile: string;

/** The value a trial was given, from its own argv: the word after `--sample-size`. */
function sampleSize(run: TrialRun): string | undefined {
  const argv = run.startRecord.argv;
  const at = argv.lastIndexOf('--sample-size');
  return at >= 0 ? argv[at + 1] : undefined;
}

const isAlive = (pid: number) => existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z');

beforeAll(async () => {
  const cluster = await startTestCluster('bench', inject('temporalAddress'), { rigCount: 1, localGpus: 2, rigGpus: 4, stagger: 0.2 });
  ({ work, rigs, env, nodes } = cluster);
  configFile = writeUserConfig(work, 'distributed_config.json', {
    nodes: cluster.configNodes,
    job_batching: { max_jobs_per_batch: 20, max_jobs_per_node_per_batch: 6, inter_batch_cooldown_seconds: 1 },
    // Sample sizes above 250 do not fit: those trials crash, as too big a trial would on a GPU.
    trial_command:
      'python3 fake_trial.py --job trial_{trial_id} --sleep 0.3 --output out/{run_id}/trial_{trial_id}.json --fail-above-sample-size 250 --gpu-id {gpu}',
    trial_output: 'out/{run_id}/trial_{trial_id}.json',
  });
});

afterAll(async () => {
  await rigs?.stop();
});

describe('rigsweep bench --param sample_size --values 100,200,300', () => {
  let run: CliRun;
  let runs: TrialRun[];
  let table: string[][];
  const outputDir = () => join(work, 'out');

  beforeAll(async () => {
    const args = [
      'bench',
      '--param',
      'sample_size',
      '--values',
      VALUES.join(','),
      '--trials',
      String(TRIALS),
      '--cooldown',
      String(COOLDOWN),
      '--max-retries',
      '0',
    ];
    run = await runCli([...args, '--config', configFile, '--output-dir', outputDir()], env, { timeoutMs: 300_000 });
    runs = collectRuns(nodes).filter((r) => VALUES.includes(sampleSize(r) ?? ''));
    table = run.stdout
      .trim()
      .split('\n')
      .slice(0, 1 + VALUES.length)
      .map((line) => line.trim().split(/\s+/));
  });

  it('exits 0 although every trial of 300 failed, and prints the table then the recommendation on stdout', () => {
    expect(run.exitCode, run.stderr).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines).toHaveLength(1 + VALUES.length + 1);
    expect(table[0]).toEqual([
      'sample_size',
      'trials',
      'total_runtime_s',
      'avg_trial_time_s',
      'throughput_trials_per_min',
      'success_rate',
      'successful',
      'failed',
    ]);
    expect(table.slice(1).map((row) => row[0])).toEqual(VALUES);
    // Aligned: every column ends at the same place on every line.
    const ends = (line: string) => [...line.matchAll(/\S+/g)].map((m) => m.index + m[0].length);
    for (const line of lines.slice(1, 1 + VALUES.length)) expect(ends(line)).toEqual(ends(lines[0]));
  });

  it('gave every trial of value v the two arguments --sample-size v, last on its command line', () => {
    for (const value of VALUES) {
      const ofValue = runs.filter((r) => sampleSize(r) === value);
      expect(ofValue.map((r) => r.jobId).sort()).toEqual(Array.from({ length: TRIALS }, (_, i) => `trial_000${i}`));
      for (const r of ofValue) expect(r.startRecord.argv.slice(-4)).toEqual(['--gpu-id', String(r.gpu), '--sample-size', value]);
    }
  });

  it('ran the values in order, one at a time, with at least the cooldown between two', () => {
    for (let i = 0; i + 1 < VALUES.length; i++) {
      const lastEnd = Math.max(...runs.filter((r) => sampleSize(r) === VALUES[i]).map((r) => r.end));
      const nextStart = Math.min(...runs.filter((r) => sampleSize(r) === VALUES[i + 1]).map((r) => r.start));
      expect(nextStart - lastEnd).toBeGreaterThanOrEqual(COOLDOWN - TICK);
    }
    expect(run.stderr).toMatch(/^\[bench\] cooldown 1s before sample_size=200$/m);
  });

  it('counts in the table what the rigs recorded', () => {
    for (const row of table.slice(1)) {
      const ofValue = runs.filter((r) => sampleSize(r) === row[0]);
      const succeeded = ofValue.filter((r) => r.endRecord?.exit_code === 0).length;
      const [trials, , avg, throughput, successRate, successful, failed] = row.slice(1);
      expect([Number(trials), Number(successful), Number(failed)]).toEqual([TRIALS, succeeded, TRIALS - succeeded]);
      expect(Number(successRate)).toBeCloseTo(succeeded / TRIALS, 3);
      if (succeeded === 0) expect([avg, throughput]).toEqual(['-', '0.00']);
      // Each trial sleeps 0.3 s; its runtime is that plus start-up, never less.
      else expect(Number(avg)).toBeGreaterThanOrEqual(0.3);
    }
    expect(table[3].slice(-2)).toEqual(['0', String(TRIALS)]);
  });

  it('recommends the highest throughput among values that succeeded at least 95% of the time', () => {
    const eligible = table.slice(1).filter((row) => Number(row[5]) >= 0.95);
    expect(eligible.map((row) => row[0])).toEqual(['100', '200']);
    const best = eligible.reduce((a, b) => (Number(b[4]) > Number(a[4]) ? b : a));
    expect(run.stdout.trim().split('\n').at(-1)).toBe(`recommended: sample_size=${best[0]} (${best[4]} trials/min, success 1.000)`);
  });

  it('writes bench_results.csv and bench_results.json, each row naming the sweep that measured it', () => {
    const csv = readFileSync(join(outputDir(), 'bench_results.csv'), 'utf8').trim().split('\n');
    expect(csv.map((line) => line.split(','))).toEqual(table.map((row) => row.map((cell) => (cell === '-' ? '' : cell))));
    const json = readJson<BenchJson>(join(outputDir(), 'bench_results.json'));
    expect(json).toMatchObject({ param: 'sample_size', values: [100, 200, 300], complete: true, cooldown_seconds: COOLDOWN });
    for (const [i, row] of json.rows.entries()) {
      expect(row.workflow_id).toMatch(new RegExp(`^rigsweep-trials-${TRIALS}-[0-9a-f]{10}-bench-\\d{8}T\\d{6}-sample_size-${VALUES[i]}$`));
      expect(row.run_id).toMatch(/_\d{8}_\d{6}(_\d+)?$/);
      expect(row.extra_args).toEqual(['--sample-size', VALUES[i]]);
      const sweep = readJson<ResultsJson>(join(outputDir(), row.run_id, 'sweep_results.json'));
      expect([sweep.total_jobs, sweep.successful, sweep.runtime_seconds]).toEqual([TRIALS, row.successful, row.total_runtime_s]);
    }
    expect(json.recommended!.sample_size).toBe(Number(/sample_size=(\d+)/.exec(run.stdout.trim().split('\n').at(-1)!)![1]));
  });
});

describe('rigsweep bench, stopped', () => {
  it('rejects bad flags before anything starts, exit 2', async () => {
    for (const bad of [
      ['--values', '350,,450'],
      ['--values', '350,350'],
      ['--values', '1', '--bogus'],
      ['--values', '1', '--trials', '2', '--jobs-file', 'x.json'],
      ['--values', '1', '--arg-format', '--n'],
    ]) {
      const run = await runCli(['bench', '--param', 'sample_size', ...bad, '--config', configFile, '--output-dir', join(work, 'bad')], env);
      expect(run.exitCode, `${bad.join(' ')}: ${run.stderr}`).toBe(2);
      expect(run.stderr).not.toContain('started sweep');
    }
    expect(existsSync(join(work, 'bad'))).toBe(false);
  });

  it('cancels the running sweep on Ctrl-C, kills its trials, starts no further value and exits 3', async () => {
    // The format's later --sleep wins in the fake trial: long trials, so Ctrl-C finds them running.
    const started = () => collectRuns(nodes).filter((r) => sampleSize(r) === '111');
    const run = await runCli(
      [
        'bench',
        '--param',
        'sample_size',
        '--values',
        '111,222',
        '--trials',
        '6',
        '--cooldown',
        '0',
        '--arg-format',
        '--{param_dashed} {value} --sleep 60',
        '--config',
        configFile,
        '--output-dir',
        join(work, 'stopped'),
      ],
      env,
      {
        onSpawn: (child) => {
          const poll = setInterval(() => {
            if (started().length >= 6) {
              clearInterval(poll);
              child.kill('SIGINT');
            }
          }, 200);
        },
      },
    );
    expect(run.exitCode, run.stderr).toBe(3);
    expect(run.stderr).toContain('sweep cancelled');
    expect(run.stderr).toContain('[bench] stopped early: 0 of 2 values ran');
    expect(
      started()
        .map((r) => r.startRecord.pid)
        .filter(isAlive),
    ).toEqual([]);
    expect(collectRuns(nodes).filter((r) => sampleSize(r) === '222')).toEqual([]);
  });

  it('on Ctrl-C during a cooldown, stops at once with the table of the values that ran, exit 3', async () => {
    const outputDir = join(work, 'cooled');
    let interruptedAt = 0;
    const run = await runCli(
      ['bench', '--param', 'sample_size', '--values', '11,22', '--trials', '2', '--cooldown', '120', '--config', configFile, '--output-dir', outputDir],
      env,
      {
        onSpawn: (child) => {
          child.stderr?.on('data', (chunk: Buffer) => {
            if (!interruptedAt && chunk.toString().includes('[bench] cooldown')) {
              interruptedAt = Date.now();
              child.kill('SIGINT');
            }
          });
        },
      },
    );
    expect(run.exitCode, run.stderr).toBe(3);
    expect(Date.now() - interruptedAt).toBeLessThan(10_000);
    expect(
      run.stdout
        .trim()
        .split('\n')
        .map((line) => line.trim().split(/\s+/)[0]),
    ).toEqual(['sample_size', '11', 'recommended:']);
    expect(JSON.parse(readFileSync(join(outputDir, 'bench_results.json'), 'utf8'))).toMatchObject({
      complete: false,
      values: [11, 22],
      rows: [{ sample_size: 11, successful: 2 }],
    });
    expect(collectRuns(nodes).filter((r) => sampleSize(r) === '22')).toEqual([]);
  });
});
