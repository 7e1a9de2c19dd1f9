/**
 * `npm run perf`: how much rigsweep adds to the trials, measured on the real stack (dev server,
 * worker, sshd rigs in network namespaces) and read back from what the rigs recorded. Prints one
 * table from one run; ratios matter more than absolute figures on a noisy 2-core machine.
 *   (a) orchestration overhead per job with instant trials: the idle gap of a GPU lane between
 *       one trial's end and the next trial's process start, median and p95;
 *   (b) 140 trials of 0.5 s on 14 GPU slots (localhost 2 + 3 rigs x 4), no batching, no stagger:
 *       rigsweep's wall time (CLI start-up included) next to GNU parallel --sshlogin (one ssh per
 *       job) on the same rigs and slots, and the trial span next to the ideal ceil(140/14) x 0.5 s;
 *   (c) the user's cluster shape (localhost 2 GPUs + 3 rigs x 8, stagger 3 s / 2 s), 100 trials of
 *       2.8 s in barrier mode, rolling mode and unbatched: makespan next to the seed policy's on the
 *       same shape and to the stagger bound, with every per-rig safety rule checked from the record
 *       (see cluster-shape.ts);
 *   SSH: the established TCP connections to each rig during (b) and (d), counted on the rig, next to
 *       ceil(jobs at once / MaxSessions) + 1 (see ssh-connections.ts);
 *   fast start: a worker's launch to polling, and `rigsweep run --trials 20` outside its trials,
 *       with a polling worker and with a hosted one (see fast-start.ts);
 *   (d) one sweep of 10,000 instant trials through a worker process: wall time, runs, history events
 *       per run, largest payload, worker RSS by jobs done, every trial once (see long-sweep.ts).
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, inject, it } from 'vitest';
import { SshPool } from '../../src/rigs/ssh-pool';
import type { NodeConfig } from '../../src/shared/config';
import { startRigs, type TestRigs } from '../harness/rigs';
import { runCli, type CliEnv, sweepArgs } from '../harness/cli';
import { clusterNodes, collectRuns, copyFakeTrial, writeJobs, writeUserConfig, type NodeUnderTest, type TrialRun } from '../harness/sweep-fixture';
import { checkRules, makespan, resetCalls, rollingBuilt, SHAPE, shapeCluster, shapeJobs, shapeReferences, type ShapeMode } from './cluster-shape';
import { runOverhead, workerLaunches } from './fast-start';
import { busyShare, machineBusySeconds, quantile } from './figures';
import { LONG_TRIALS, longSweep } from './long-sweep';
import { connectionsCell, sampleSshConnections } from './ssh-connections';

let rigs: TestRigs;
let env: CliEnv;
let work: string;
let nodes: NodeUnderTest[];
let configNodes: NodeConfig[];
let config: string;
const rows: [string, string][] = [];

/** Idle time of each GPU lane between a trial's end and the next trial's process start. */
function laneGaps(runs: TrialRun[]): number[] {
  const lanes = new Map<string, TrialRun[]>();
  for (const run of runs) lanes.set(`${run.node}/${run.gpu}`, [...(lanes.get(`${run.node}/${run.gpu}`) ?? []), run]);
  return [...lanes.values()].flatMap((lane) => {
    lane.sort((a, b) => a.start - b.start);
    return lane.slice(1).map((run, i) => run.start - lane[i].end);
  });
}

function span(runs: TrialRun[]): number {
  return Math.max(...runs.map((r) => r.end)) - Math.min(...runs.map((r) => r.start));
}

function jobs(prefix: string, count: number, sleep: string) {
  return Array.from({ length: count }, (_, i) => ({
    job_id: `${prefix}${i}`,
    script: 'fake_trial.py',
    args: ['--job', `${prefix}${i}`, '--sleep', sleep, '--output', `out/${prefix}${i}.json`],
    expected_output: `out/${prefix}${i}.json`,
  }));
}

async function timedCli(args: string[]): Promise<number> {
  const started = Date.now();
  const run = await runCli(args, env, { cwd: work, timeoutMs: 1_200_000 });
  if (run.exitCode !== 0) throw new Error(`rigsweep failed: ${run.stderr}`);
  return (Date.now() - started) / 1000;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'rigsweep-perf-'));
  chmodSync(work, 0o755);
  rigs = await startRigs({ count: 3, stateDir: join(work, 'rigs') });
  env = { temporalAddress: inject('temporalAddress'), taskQueue: `perf-${process.pid}`, home: rigs.home };
  const cluster = clusterNodes(rigs, { localGpus: 2, rigGpus: 4, stagger: 0 });
  ({ nodes, configNodes } = cluster);
  config = writeUserConfig(work, 'distributed_config.json', { nodes: cluster.configNodes, job_batching: { enabled: false }, preflight: { enabled: false } });
  // Warm up once: the first sweep pays for SSH logins and the workflow bundle's first load.
  await timedCli(sweepArgs('run', writeJobs(work, 'warm.json', jobs('warm', 14, '0')), config, join(work, 'out')));
});

afterAll(async () => {
  await rigs?.stop();
  console.log(`\nrigsweep perf (${new Date().toISOString()}, ${process.env.RIGSWEEP_PERF_MACHINE ?? '2 cores'})`);
  const width = Math.max(...rows.map(([name]) => name.length));
  for (const [name, value] of rows) console.log(`  ${name.padEnd(width)} ${value}`);
});

describe('dispatch overhead', () => {
  it('SSH exec round trip on a warm pooled connection', async () => {
    const pool = new SshPool({ sshEnv: { home: rigs.home, env: {} } });
    const rig = { hostname: rigs.rigs[0].address, username: rigs.user };
    await pool.run(rig, 'true');
    const times: number[] = [];
    for (let i = 0; i < 100; i++) times.push((await pool.run(rig, 'true')).durationMs);
    await pool.close();
    rows.push(['SSH exec round trip, warm pooled connection, median / p95 (ms)', `${quantile(times, 0.5).toFixed(1)} / ${quantile(times, 0.95).toFixed(1)}`]);
  });

  it('(a) instant trials: idle gap per GPU lane between jobs', async () => {
    const busyBefore = machineBusySeconds();
    const wall = await timedCli(sweepArgs('run', writeJobs(work, 'instant.json', jobs('instant', 280, '0')), config, join(work, 'out')));
    const runs = collectRuns(nodes).filter((r) => r.jobId.startsWith('instant'));
    const gaps = laneGaps(runs).map((s) => s * 1000);
    rows.push([
      '(a) lane gap per job, median / p95 (ms)',
      `${quantile(gaps, 0.5).toFixed(0)} / ${quantile(gaps, 0.95).toFixed(0)} (${runs.length} jobs, 14 slots)`,
    ]);
    // The same sweep as throughput: 14 lanes share the overhead, so the cluster spends this per job.
    rows.push([
      '(a) 14 lanes: trial span / jobs (ms per job, the cluster as a whole)',
      `${((span(runs) / runs.length) * 1000).toFixed(0)} (${span(runs).toFixed(1)} s / ${runs.length})`,
    ]);
    // Why the lane gap is what it is: the whole machine (server, worker, sshd rigs, trials) per job.
    const busy = machineBusySeconds() - busyBefore;
    const trialCpu = quantile(
      runs.flatMap((r) => (r.endRecord?.cpu === undefined ? [] : [r.endRecord.cpu * 1000])),
      0.5,
    );
    const cores = cpus().length;
    rows.push([
      "(a) 14 lanes: the trial's own CPU (an instant Python trial), median; the lane gap it alone forces",
      `${trialCpu.toFixed(0)} ms; ≥ ${((14 * trialCpu) / cores).toFixed(0)} ms (14 lanes × it / ${cores} cores, with no orchestration at all)`,
    ]);
    rows.push([
      '(a) 14 lanes: machine CPU per job; cores busy during the run',
      `${((busy / runs.length) * 1000).toFixed(0)} ms; ${(busyShare(busy, wall) * 100).toFixed(0)}% of ${cpus().length} cores over ${wall.toFixed(1)} s`,
    ]);
  });

  it('(a) instant trials on one lane: the round trip alone, without 14 lanes sharing 2 cores', async () => {
    const rig = configNodes[1];
    const oneLane = writeUserConfig(work, 'one-lane.json', {
      nodes: [{ ...rig, gpu_count: 1, max_concurrent_script_jobs: 1 }],
      job_batching: { enabled: false },
      preflight: { enabled: false },
    });
    await timedCli(sweepArgs('run', writeJobs(work, 'lane.json', jobs('lane', 60, '0')), oneLane, join(work, 'out')));
    const runs = collectRuns(nodes).filter((r) => r.jobId.startsWith('lane'));
    const gaps = laneGaps(runs).map((s) => s * 1000);
    rows.push([
      '(a) one lane (1 rig GPU): idle gap per job, median / p95 (ms)',
      `${quantile(gaps, 0.5).toFixed(0)} / ${quantile(gaps, 0.95).toFixed(0)} (${runs.length} jobs)`,
    ]);
  });

  it('(b) 140 trials of 0.5 s on 14 slots: rigsweep vs GNU parallel', async () => {
    const connections = sampleSshConnections(rigs);
    const wall = await timedCli(sweepArgs('run', writeJobs(work, 'half.json', jobs('half', 140, '0.5')), config, join(work, 'out'))).finally(() =>
      connections.stop(),
    );
    const runs = collectRuns(nodes).filter((r) => r.jobId.startsWith('half'));
    const sshCell = connectionsCell(rigs, connections.stop(), runs);
    const parallelWall = await gnuParallel(140, 0.5);
    const parallelRuns = collectRuns(nodes).filter((r) => r.jobId.startsWith('gnu'));
    const ideal = Math.ceil(140 / 14) * 0.5;
    rows.push(['(b) rigsweep wall incl. start-up (s)', wall.toFixed(1)]);
    rows.push(['(b) GNU parallel --sshlogin wall (s)', parallelWall.toFixed(1)]);
    rows.push(['(b) wall ratio rigsweep / GNU parallel', (wall / parallelWall).toFixed(2)]);
    rows.push(['(b) rigsweep trial span / ideal ceil(140/14) x 0.5 s', `${span(runs).toFixed(1)} s / ${ideal} s = ${(span(runs) / ideal).toFixed(2)}`]);
    rows.push(['(b) GNU parallel trial span / ideal', `${span(parallelRuns).toFixed(1)} s / ${ideal} s = ${(span(parallelRuns) / ideal).toFixed(2)}`]);
    rows.push(['(b) SSH connections per rig: max seen ≤ ceil(jobs at once / MaxSessions) + 1', sshCell]);
  });
});

describe("(c) the user's cluster shape", () => {
  let refs: ReturnType<typeof shapeReferences>;

  beforeAll(() => {
    refs = shapeReferences(shapeCluster(rigs, work, 'barrier').nodes);
    rows.push(['(c) shape: localhost 2 GPUs + 3 rigs x 8, 100 trials of 2.8 s', 'stagger 3 s / 2 s; ≤ 20 per batch, ≤ 6 per node, 5 s cooldown, reset on']);
    rows.push(['(c) seed policy makespan (its algorithm, seed-system.md)', `${refs.seed.toFixed(1)} s (${refs.seedBatches} batches)`]);
    rows.push(['(c) stagger bound N / Σ 1/stagger_i + trial length', `${refs.bound.toFixed(1)} s`]);
  });

  it('(c) barrier mode', () => shapeSweep('barrier', refs, { seed: 1 }));
  it('(c) rolling mode', () => shapeSweep('rolling', refs, { seed: 0.65 }));
  it('(c) unbatched', () => shapeSweep('unbatched', refs, { bound: 1.15 }));
});

describe('fast start', () => {
  it('(i) a worker polls soon after launch', async () => rows.push(...(await workerLaunches(config, env, work))));
  it('(ii) rigsweep run --trials 20 outside the trials', async () =>
    rows.push(...(await runOverhead({ env, work, localConfigNode: configNodes[0], localNode: nodes[0] }))));
});

describe('(d) a sweep of any length', () => {
  it(
    `(d) ${LONG_TRIALS} instant trials through a worker process`,
    async () => rows.push(...(await longSweep({ rigs, env, work, nodes, configNodes }))),
    3_600_000,
  );
});

/**
 * One sweep of the shape in `mode`, on a task queue of its own (a sweep cut short must not be
 * picked up by the next one's worker); its row says makespan, ratios, whether the target holds
 * and whether every safety rule held.
 */
async function shapeSweep(mode: ShapeMode, refs: { seed: number; bound: number }, target: { seed?: number; bound?: number }): Promise<void> {
  const label = `(c) ${mode}: makespan / x seed / x stagger bound`;
  if (mode === 'rolling' && !rollingBuilt()) {
    rows.push([label, 'not built (the config rejects job_batching.mode "rolling")']);
    return;
  }
  const { nodes, config } = shapeCluster(rigs, work, mode);
  const prefix = `shape-${mode}-`;
  const from = Date.now() / 1000;
  const args = [
    'run',
    '--jobs-file',
    writeJobs(work, `${prefix}jobs.json`, shapeJobs(prefix)),
    '--preserve-paths',
    '--config',
    config,
    '--output-dir',
    join(work, 'out'),
    '--max-retries',
    '0',
  ];
  const estimate = await coreEstimate(args);
  const run = await runCli(args, { ...env, taskQueue: `${env.taskQueue}-${mode}` }, { cwd: work, timeoutMs: 600_000 });
  const to = Date.now() / 1000;
  if (run.exitCode !== 0) {
    const reason = run.stderr.trim().split('\n').at(-1) ?? '';
    rows.push([label, `failed (exit ${run.exitCode}): ${reason}`]);
    throw new Error(`rigsweep ${mode} sweep failed: ${run.stderr}`);
  }
  const runs = collectRuns(nodes).filter((r) => r.jobId.startsWith(prefix));
  const batchOf = new Map<string, number>(run.results!.jobs.map((job) => [job.job_id, job.batch]));
  const rules = checkRules({ mode, nodes, runs, resets: resetCalls(rigs, from, to), batchOf });
  const span = makespan(runs);
  const [vsSeed, vsBound] = [span / refs.seed, span / refs.bound];
  const met = (target.seed === undefined || vsSeed <= target.seed) && (target.bound === undefined || vsBound <= target.bound);
  const targetText = target.seed !== undefined ? `x seed ≤ ${target.seed}` : `x bound ≤ ${target.bound}`;
  rows.push([label, `${span.toFixed(1)} s / ${vsSeed.toFixed(2)} / ${vsBound.toFixed(2)} (${targetText}: ${met ? 'met' : 'MISSED'}); rules: ${rules}`]);
  rows.push([`(c) ${mode}: the core's estimate (rigsweep plan) / x measured`, `${estimate.toFixed(1)} s / ${(span / estimate).toFixed(2)}`]);
}

/**
 * What `rigsweep plan` expects of the same sweep: the dispatcher core on a virtual clock, every
 * trial SHAPE.trialSeconds long and resets instant, so measured / estimate is what the real stack
 * (SSH, process starts, resets, the Temporal round trips) adds to the policy.
 */
async function coreEstimate(runArgs: string[]): Promise<number> {
  const plan = await runCli(['plan', ...runArgs.slice(1), '--expected-trial-seconds', String(SHAPE.trialSeconds)], env, { cwd: work });
  if (plan.exitCode !== 0 || !plan.dryRun) throw new Error(`rigsweep plan failed (exit ${plan.exitCode}): ${plan.stderr}`);
  return plan.dryRun.eta_seconds;
}

/**
 * The same trials through GNU parallel: one ssh per job, the same slots, the same work dirs, and
 * the interpreter rigsweep's localhost uses (a `python3` from PATH may be a slower shim here).
 */
async function gnuParallel(count: number, seconds: number): Promise<number> {
  // GNU parallel gives one --workdir to all hosts: make the rigs' path exist here too.
  rmSync('/srv/rigsweep-rig/work', { force: true, recursive: false });
  mkdirSync('/srv/rigsweep-rig', { recursive: true });
  symlinkSync(rigs.localWorkDir, '/srv/rigsweep-rig/work');
  copyFakeTrial(rigs.localWorkDir);
  const ssh = `ssh -i ${rigs.identityFile} -o UserKnownHostsFile=${rigs.knownHostsFile} -o StrictHostKeyChecking=yes -o BatchMode=yes`;
  const logins = ['2/:', ...rigs.rigs.map((rig) => `4/${rigs.user}@${rig.address}`)].join(',');
  const started = Date.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn(
      'parallel',
      [
        '--ssh',
        ssh,
        '-S',
        logins,
        '--workdir',
        '/srv/rigsweep-rig/work',
        `/usr/bin/python3 fake_trial.py --job gnu{} --sleep ${seconds} --gpu-id '{%}'`,
        ':::',
        ...Array.from({ length: count }, (_, i) => String(i)),
      ],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`parallel exited ${code}: ${stderr}`))));
  });
  rmSync('/srv/rigsweep-rig/work', { force: true });
  return (Date.now() - started) / 1000;
}
