/**
 * The core promise, end to end: `rigsweep run` with a user-shaped config and a jobs file, the
 * real worker, the real dev server and real sshd rigs — every rule read back from what the rigs
 * recorded.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ResultsJson } from '../../src/shared/results';
import { readJson } from '../harness/read-json';
import { readCalls, startRigs, type TestRigs, type TrialOutput } from '../harness/rigs';
import { recordHistory, runCli, type CliEnv, type CliRun, sweepArgs } from '../harness/cli';
import { clusterNodes, collectRuns, maxOverlap, writeJobs, writeUserConfig, type NodeUnderTest, type TrialRun } from '../harness/sweep-fixture';

const NASTY_ARGS = ['$(touch pwned1)', '`touch pwned2`', 'a;touch pwned3', "it's", '"quoted"', 'new\nline', '{"lr": 0.1, "layers": [1, 2]}', '$HOME', ''];
const COOLDOWN = 2;
// Process start times come in 10 ms clock ticks, so two starts can look up to one tick closer.
const TICK = 0.011;

let rigs: TestRigs;
let env: CliEnv;
let work: string;
let nodes: NodeUnderTest[];
let configFile: string;

function jobsFor(prefix: string, count: number, extra: string[] = []) {
  return Array.from({ length: count }, (_, i) => {
    const id = `${prefix}_${String(i).padStart(3, '0')}`;
    return {
      job_id: id,
      script: 'fake_trial.py',
      args: ['--job', id, '--sleep', '0.3', '--output', `results/${prefix}/${id}.json`, ...NASTY_ARGS, ...extra],
      expected_output: `results/${prefix}/${id}.json`,
      timeout: 120,
      analysis_type: 'scorer_meta',
    };
  });
}

function sudoResets(): { rig: string; t: number; call: ReturnType<typeof readCalls>[number] }[] {
  return rigs.rigs.flatMap((rig) =>
    readCalls(rig.callsLog)
      .filter((c) => c.tool === 'sudo')
      .map((call) => ({ rig: rig.address, t: call.t, call })),
  );
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'rigsweep-it-'));
  chmodSync(work, 0o755); // the rigs' sshd reads authorized_keys below it as the rig user
  rigs = await startRigs({ count: 2, stateDir: join(work, 'rigs') });
  env = { temporalAddress: inject('temporalAddress'), taskQueue: `it-batched-${process.pid}`, home: rigs.home };
  const cluster = clusterNodes(rigs, { localGpus: 2, rigGpus: 4, rigMaxConcurrent: [4, 3], stagger: 0.4 });
  nodes = cluster.nodes;
  configFile = writeUserConfig(work, 'distributed_config.json', {
    nodes: [...cluster.configNodes, { hostname: '10.231.0.99', username: 'x', gpu_count: 0, script_path: '/x', python_env: '/x' }],
    job_batching: {
      enabled: true,
      max_jobs_per_batch: 20,
      max_jobs_per_node_per_batch: 7,
      inter_batch_cooldown_seconds: COOLDOWN,
      allocator_reset_between_batches: true,
    },
  });
});

afterAll(async () => {
  await rigs?.stop();
});

describe('a 50-job sweep through rigsweep run', () => {
  let run: CliRun;
  let runs: TrialRun[];
  const batchOf = (jobId: string) => Math.floor(Number(jobId.split('_').pop()) / 20);

  beforeAll(async () => {
    const jobsFile = writeJobs(work, 'scorer_jobs.json', jobsFor('big', 50));
    run = await runCli(sweepArgs('run', jobsFile, configFile, join(work, 'out')), env);
    runs = collectRuns(nodes).filter((r) => r.jobId.startsWith('big_'));
    await recordHistory(env, run.results!.workflow_id, 'barrier-50-jobs-3-batches');
  });

  it('succeeds, prints the seed lines and the Results JSON last', () => {
    expect(run.stderr).toContain('node 10.231.0.99 skipped: gpu_count is 0');
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^\[BATCH 1\/3\] 20 jobs$/m);
    expect(run.stdout).toMatch(/^\[BATCH 3\/3\] 10 jobs$/m);
    expect(run.stdout).toMatch(/^\[BATCH 2\] Complete: 20\/20 successful$/m);
    expect(run.stdout).toMatch(/^ {2}✓ big_007 → (localhost|10\.231\.0\.1[12]):GPU\d \(\d+\.\d+s\)$/m);
    expect(run.results).toMatchObject({ status: 'complete', total_jobs: 50, successful: 50, failed: 0, batches: 3 });
    expect(run.stdout.trimEnd().endsWith('}')).toBe(true);
  });

  it('ran every job exactly once, on the node and GPU the Results JSON names', () => {
    expect(runs).toHaveLength(50);
    expect(new Set(runs.map((r) => r.jobId)).size).toBe(50);
    for (const job of run.results!.jobs) {
      const record = runs.find((r) => r.jobId === job.job_id)!;
      expect([job.node, job.gpu_id, job.success]).toEqual([record.node, record.gpu, true]);
    }
    const perNode = Object.fromEntries(nodes.map((n) => [n.name, runs.filter((r) => r.node === n.name).length]));
    for (const [name, summary] of Object.entries(run.results!.nodes)) expect(summary.jobs).toBe(perNode[name]);
  });

  it('runs batches one after another with an idle gap of at least the cooldown, and a reset of every rig in each gap', () => {
    const resets = sudoResets();
    for (const batch of [0, 1]) {
      const lastEnd = Math.max(...runs.filter((r) => batchOf(r.jobId) === batch).map((r) => r.end));
      const nextStart = Math.min(...runs.filter((r) => batchOf(r.jobId) === batch + 1).map((r) => r.start));
      expect(nextStart - lastEnd).toBeGreaterThanOrEqual(COOLDOWN - TICK);
      const inGap = resets.filter((r) => r.t > lastEnd && r.t < nextStart);
      expect(inGap.map((r) => r.rig).sort()).toEqual(rigs.rigs.map((rig) => rig.address).sort());
      for (const reset of inGap) {
        expect(reset.call.argv).toEqual(['-n', 'tee', '/proc/sys/vm/drop_caches']);
        expect(reset.call.stdin).toBe('3\n');
      }
    }
    expect(resets).toHaveLength(4);
  });

  it('keeps per-node concurrency, the per-node-per-batch cap and uses every GPU', () => {
    for (const node of nodes) {
      const onNode = runs.filter((r) => r.node === node.name);
      expect(maxOverlap(onNode)).toBeLessThanOrEqual(node.maxConcurrent);
      for (const batch of [0, 1, 2]) expect(onNode.filter((r) => batchOf(r.jobId) === batch).length).toBeLessThanOrEqual(7);
      expect(new Set(onNode.map((r) => r.gpu))).toEqual(new Set(Array.from({ length: node.gpuCount }, (_, g) => g)));
    }
  });

  it('never starts two jobs on one node closer than its stagger_delay', () => {
    for (const node of nodes) {
      const starts = runs
        .filter((r) => r.node === node.name)
        .map((r) => r.start)
        .sort((a, b) => a - b);
      const gaps = starts.slice(1).map((t, i) => t - starts[i]);
      expect(Math.min(...gaps)).toBeGreaterThanOrEqual(node.stagger - TICK);
    }
  });

  it('never runs two jobs on one GPU at once', () => {
    for (const node of nodes) {
      for (let gpu = 0; gpu < node.gpuCount; gpu++) {
        expect(maxOverlap(runs.filter((r) => r.node === node.name && r.gpu === gpu))).toBeLessThanOrEqual(1);
      }
    }
  });

  it('sets the GPU environment the seed set: CUDA everywhere, HIP and ROCm settings on ROCm nodes', () => {
    for (const r of runs) {
      const e = r.startRecord.env;
      expect(e.CUDA_VISIBLE_DEVICES).toBe(String(r.gpu));
      if (r.node === 'localhost') {
        expect(e.HIP_VISIBLE_DEVICES).toBeNull();
        expect(e.HSA_OVERRIDE_GFX_VERSION).toBeNull();
      } else {
        expect([e.HIP_VISIBLE_DEVICES, e.HSA_OVERRIDE_GFX_VERSION, e.HSA_ENABLE_SDMA, e.ROCM_PATH, e.HIP_PATH]).toEqual([
          String(r.gpu),
          '10.3.0',
          '0',
          '/opt/rocm',
          '/opt/rocm/hip',
        ]);
        expect(e.PATH).toMatch(/^\/opt\/rocm\/bin:\/opt\/rocm\/hip\/bin:/);
        expect(e.LD_LIBRARY_PATH).toMatch(/^\/opt\/rocm\/lib:\/opt\/rocm\/hip\/lib/);
      }
    }
  });

  it('delivers arguments with quotes, $, ; and backticks byte for byte and runs nothing in them', () => {
    for (const r of runs) {
      expect(r.startRecord.argv).toEqual([
        '--job',
        r.jobId,
        '--sleep',
        '0.3',
        '--output',
        `results/big/${r.jobId}.json`,
        ...NASTY_ARGS,
        '--gpu-id',
        String(r.gpu),
      ]);
    }
    for (const node of nodes) for (const name of ['pwned1', 'pwned2', 'pwned3']) expect(existsSync(join(node.workDir, name))).toBe(false);
  });

  it('leaves every result file on the node that ran the job, brings a copy home, and keeps the records on the worker host', () => {
    for (const r of runs) {
      const node = nodes.find((n) => n.name === r.node)!;
      const onNode = readFileSync(join(node.workDir, 'results', 'big', `${r.jobId}.json`), 'utf8');
      expect((JSON.parse(onNode) as TrialOutput).status).toBe('success');
      // ...and its copy came home, over SFTP from the rigs, into the run's output directory.
      const job = run.results!.jobs.find((j) => j.job_id === r.jobId)!;
      expect(job.local_output).toBe(join(run.results!.output_dir, 'results', 'big', `${r.jobId}.json`));
      expect(readFileSync(job.local_output!, 'utf8')).toBe(onNode);
    }
    const lines = readFileSync(run.results!.results_file, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(50);
    expect(readJson<ResultsJson>(join(run.results!.output_dir, 'sweep_results.json')).successful).toBe(50);
  });
});

describe('a sweep of at most max_jobs_per_batch jobs', () => {
  it('runs as one batch with no reset and no cooldown', async () => {
    const resetsBefore = sudoResets().length;
    const jobsFile = writeJobs(work, 'small_jobs.json', jobsFor('small', 20));
    const run = await runCli(sweepArgs('run', jobsFile, configFile, join(work, 'out')), env);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^\[BATCH 1\/1\] 20 jobs$/m);
    expect(run.stdout).not.toContain('[COOLDOWN]');
    expect(run.stdout).not.toContain('[RESET]');
    expect(sudoResets().length).toBe(resetsBefore);
    const runs = collectRuns(nodes).filter((r) => r.jobId.startsWith('small_'));
    expect(runs).toHaveLength(20);
    // One batch: no per-node-per-batch cap, so the 8-lane rigs may take more than 7.
    expect(run.results).toMatchObject({ total_jobs: 20, successful: 20, batches: 1 });
  });
});
