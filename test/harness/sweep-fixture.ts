/**
 * The test cluster — localhost and the sshd test rigs as config nodes, the user's files — and
 * what the rigs recorded: trial runs, waiting start commands, run folders. Driving rigsweep
 * itself is `./cli`.
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SWEEP_MARKER } from '../../src/inputs/run-folder';
import type { NodeConfig } from '../../src/shared/config';
import { readTrialRecords, startRigs, type TestRigs, type TrialRecord } from './rigs';
import type { CliEnv } from './cli';

export const FAKE_TRIAL = resolve(__dirname, '..', 'fixtures', 'fake_trial.py');

export interface NodeUnderTest {
  /** The node's name in rigsweep's output: its hostname in the config. */
  name: string;
  workDir: string;
  gpuCount: number;
  maxConcurrent: number;
  stagger: number;
  rocm: boolean;
}

/** localhost (NVIDIA-style) plus every test rig (ROCm), each with the fake trial in its work dir. */
export function clusterNodes(rigs: TestRigs, options: { localGpus?: number; rigGpus?: number; rigMaxConcurrent?: number[]; stagger?: number } = {}) {
  const stagger = options.stagger ?? 0.4;
  const nodes: NodeUnderTest[] = [
    { name: 'localhost', workDir: rigs.localWorkDir, gpuCount: options.localGpus ?? 2, maxConcurrent: options.localGpus ?? 2, stagger, rocm: false },
    ...rigs.rigs.map((rig, i) => ({
      name: rig.address,
      workDir: rig.workDir,
      gpuCount: options.rigGpus ?? 4,
      maxConcurrent: options.rigMaxConcurrent?.[i] ?? options.rigGpus ?? 4,
      stagger,
      rocm: true,
    })),
  ];
  const configNodes: NodeConfig[] = [
    {
      hostname: 'localhost',
      username: 'root',
      gpu_count: nodes[0].gpuCount,
      gpu_type: 'RTX 3080 Ti',
      script_path: rigs.localWorkDir,
      python_env: '/usr/bin/python3',
      max_concurrent_script_jobs: nodes[0].maxConcurrent,
      stagger_delay: stagger,
    },
    ...rigs.rigs.map((rig, i) => ({
      hostname: rig.address,
      username: rigs.user,
      gpu_count: nodes[i + 1].gpuCount,
      gpu_type: 'RX 6600',
      script_path: rig.scriptPath,
      python_env: rigs.rocmPython,
      max_concurrent_script_jobs: nodes[i + 1].maxConcurrent,
      use_ramdisk: true,
      ramdisk_path: '/dev/shm/prng',
      stagger_delay: stagger,
    })),
  ];
  return { nodes, configNodes };
}

/** `count` jobs `<prefix><i>` of the fake trial, each sleeping `sleep` seconds and writing `out/<prefix><i>.json`. */
export function fakeTrialJobs(prefix: string, count: number, sleep: string) {
  return Array.from({ length: count }, (_, i) => ({
    job_id: `${prefix}${i}`,
    script: 'fake_trial.py',
    args: ['--job', `${prefix}${i}`, '--sleep', sleep, '--output', `out/${prefix}${i}.json`],
    expected_output: `out/${prefix}${i}.json`,
  }));
}

/** Writes a config shaped like the user's: their nodes plus sections rigsweep must ignore. */
export function writeUserConfig(dir: string, name: string, body: Record<string, unknown>): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  writeFileSync(
    path,
    JSON.stringify({ ...body, sieve_defaults: { window_size: 512 }, search_bounds: { seed_max: 4294967295 }, evaluation_thresholds: { min: 0.6 } }, null, 2),
  );
  return path;
}

export function writeJobs(dir: string, name: string, jobs: unknown[]): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(jobs, null, 2));
  return path;
}

/** A start/end pair of one trial process, from the record it wrote on its node. */
export interface TrialRun {
  node: string;
  jobId: string;
  gpu: number;
  start: number;
  end: number;
  startRecord: TrialRecord;
  endRecord?: TrialRecord;
}

/** Every trial run on the given nodes, paired by pid; the job id is the value after `--job`. */
export function collectRuns(nodes: NodeUnderTest[]): TrialRun[] {
  const runs: TrialRun[] = [];
  for (const node of nodes) {
    const records = readTrialRecords(node.workDir);
    for (const start of records.filter((r) => r.event === 'start')) {
      const end = records.find((r) => r.event === 'end' && r.pid === start.pid && r.t >= start.t);
      const jobAt = start.argv.indexOf('--job');
      runs.push({
        node: node.name,
        jobId: jobAt >= 0 ? start.argv[jobAt + 1] : '',
        gpu: Number(start.gpu_id),
        // The permit's GO: a job that waited on its node for its GPU or its spacing had not started.
        start: start.go ?? start.proc_start!,
        end: end?.t ?? Infinity,
        startRecord: start,
        endRecord: end,
      });
    }
  }
  return runs;
}

/** The largest number of runs overlapping at one moment. */
export function maxOverlap(runs: TrialRun[]): number {
  const points = runs.flatMap((run) => [
    { t: run.start, delta: 1 },
    { t: run.end, delta: -1 },
  ]);
  points.sort((a, b) => a.t - b.t || a.delta - b.delta);
  let current = 0;
  let max = 0;
  for (const point of points) max = Math.max(max, (current += point.delta));
  return max;
}

export function copyFakeTrial(dir: string): void {
  copyFileSync(FAKE_TRIAL, join(dir, 'fake_trial.py'));
}

export interface TestCluster {
  /** A fresh folder for configs, jobs and results, readable by the rig user. */
  work: string;
  rigs: TestRigs;
  env: CliEnv;
  nodes: NodeUnderTest[];
  configNodes: NodeConfig[];
}

/**
 * The set-up most integration tests share: a work folder, `rigCount` sshd rigs, the CLI's
 * environment with a task queue of the test's own, and localhost plus the rigs as config nodes.
 */
export async function startTestCluster(
  name: string,
  temporalAddress: string,
  options: { rigCount: number; localGpus?: number; rigGpus?: number; stagger?: number; rigMaxConcurrent?: number[] },
): Promise<TestCluster> {
  const work = mkdtempSync(join(tmpdir(), `rigsweep-${name}-`));
  chmodSync(work, 0o755); // the rigs' sshd reads authorized_keys below it as the rig user
  const rigs = await startRigs({ count: options.rigCount, stateDir: join(work, 'rigs') });
  const env = { temporalAddress, taskQueue: `it-${name}-${process.pid}`, home: rigs.home };
  const { nodes, configNodes } = clusterNodes(rigs, options);
  return { work, rigs, env, nodes, configNodes };
}

/** Polls `check` every 100 ms until it holds; fails naming what it waited for. */
export async function waitUntil(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Job commands of this machine and its rigs (they share its pid namespace) still waiting for their
 * node's start permit: their shell's command line holds the whole start command, with `--job <id>`
 * and the `cd` into the node's script path; once the trial runs, it is the trial's.
 */
export function jobsWaitingForPermit(jobPrefix: string): { jobId: string; scriptPath: string }[] {
  const waiting: { jobId: string; scriptPath: string }[] = [];
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    let commandLine: string;
    try {
      commandLine = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    const job = new RegExp(`--job (${jobPrefix}\\w*)`).exec(commandLine);
    const folder = /; cd (\S+) \|\| exit/.exec(commandLine);
    if (job && commandLine.includes('RIGSWEEP_GO')) waiting.push({ jobId: job[1], scriptPath: folder?.[1] ?? '' });
  }
  return waiting;
}

/**
 * The run folder of sweep `workflowId` below `outputDir` (its name is the seed's run id, e.g.
 * `results_20261204_101500`): the one whose marker names the workflow id. Throws when none does.
 */
export function runFolder(outputDir: string, workflowId: string): string {
  for (const name of existsSync(outputDir) ? readdirSync(outputDir) : []) {
    const marker = join(outputDir, name, SWEEP_MARKER);
    if (existsSync(marker) && readFileSync(marker, 'utf8').trim() === workflowId) return join(outputDir, name);
  }
  throw new Error(`no run folder of ${workflowId} in ${outputDir}`);
}
