/**
 * Drives rigsweep the way a user does — the real `rigsweep` CLI against the real dev server and
 * the sshd test rigs — and reads back what the rigs recorded.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { findTemporalCli } from '../../src/cli/dev-server';
import { SWEEP_MARKER } from '../../src/inputs/run-folder';
import type { NodeConfig } from '../../src/shared/config';
import type { ResultsJson } from '../../src/shared/results';
import type { trialSweep } from '../../src/workflows/trial-sweep';
import { readTrialRecords, startRigs, type TestRigs, type TrialRecord } from './rigs';
import { type ProcessRun, runProcess } from './run-process';

export const CLI = resolve(__dirname, '..', '..', 'bin', 'rigsweep.js');
export const FAKE_TRIAL = resolve(__dirname, '..', 'fixtures', 'fake_trial.py');

export interface CliRun extends ProcessRun {
  /** The Results JSON printed after `Results JSON:` (undefined when none was printed). */
  results?: ResultsJson;
}

export interface CliEnv {
  temporalAddress: string;
  taskQueue: string;
  home: string;
}

/** Runs `rigsweep <args>` as a user would, with its own HOME (ssh keys, known_hosts). */
export async function runCli(
  args: string[],
  env: CliEnv,
  options: { cwd?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv; onSpawn?: (child: ChildProcess) => void } = {},
): Promise<CliRun> {
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    ...options.env,
    HOME: env.home,
    TEMPORAL_ADDRESS: env.temporalAddress,
    RIGSWEEP_TASK_QUEUE: env.taskQueue,
  };
  delete childEnv.SSH_CONNECTION; // the fake trial reads it to tell rigs from localhost
  delete childEnv.SSH_AUTH_SOCK; // the harness key file is the only credential
  const run = await runProcess(process.execPath, [CLI, ...args], {
    cwd: options.cwd,
    env: childEnv,
    timeoutMs: options.timeoutMs ?? 180_000,
    onSpawn: options.onSpawn,
  });
  const marker = run.stdout.indexOf('Results JSON:\n');
  return { ...run, results: marker >= 0 ? (JSON.parse(run.stdout.slice(marker + 'Results JSON:\n'.length)) as ResultsJson) : undefined };
}

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

/**
 * A long-running `rigsweep worker`, as an operator starts one; stopped with SIGINT. `args` are
 * further worker flags, `env` further environment (e.g. RIGSWEEP_METRICS_PORT); `pid` lets perf
 * runs read the worker's memory from /proc.
 */
export async function startWorkerProcess(
  configFile: string,
  env: CliEnv,
  cwd: string,
  options: { args?: string[]; env?: NodeJS.ProcessEnv } = {},
): Promise<{ stop(): Promise<number | null>; stderr(): string; pid: number }> {
  const child = spawn(process.execPath, [CLI, 'worker', '--config', configFile, ...(options.args ?? [])], {
    cwd,
    env: {
      ...process.env,
      ...options.env,
      HOME: env.home,
      TEMPORAL_ADDRESS: env.temporalAddress,
      RIGSWEEP_TASK_QUEUE: env.taskQueue,
      SSH_CONNECTION: '',
      SSH_AUTH_SOCK: '',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  await new Promise<void>((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start:\n${stderr}`)), 60_000);
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      if (stderr.includes('rigsweep worker polling')) {
        clearTimeout(timer);
        resolvePromise();
      }
    });
    child.once('exit', () => reject(new Error(`worker exited:\n${stderr}`)));
  });
  return {
    pid: child.pid!,
    stderr: () => stderr,
    stop: () =>
      new Promise((resolvePromise) => {
        child.once('exit', (code) => resolvePromise(code));
        child.kill('SIGINT');
      }),
  };
}

/** What `temporal workflow start --output json` prints. */
export interface TemporalCliStarted {
  runId: string;
}

/** What `temporal workflow execute|result --output json` prints for a sweep. */
export interface TemporalCliResult {
  result: ResultsJson;
}

/** Runs the official `temporal` CLI against the test server. */
export function temporalCli(args: string[], env: CliEnv): Promise<CliRun> {
  return runProcess(findTemporalCliForTests(), [...args, '--address', env.temporalAddress]);
}

function findTemporalCliForTests(): string {
  const cli = findTemporalCli();
  if (!cli) throw new Error('temporal CLI not found (scripts/setup.sh installs it)');
  return cli;
}

/**
 * With RIGSWEEP_RECORD_HISTORIES=<dir>, saves a finished sweep's event history there: the replay
 * tests run the current workflow code against these real histories, so a change that would break
 * running sweeps fails a test first. Refresh them with `npm run record-histories`.
 */
export async function recordHistory(env: CliEnv, workflowId: string, name: string, runId?: string): Promise<void> {
  const dir = process.env.RIGSWEEP_RECORD_HISTORIES;
  if (!dir) return;
  const shown = await temporalCli(['workflow', 'show', '--workflow-id', workflowId, ...(runId ? ['--run-id', runId] : []), '--output', 'json'], env);
  if (shown.exitCode !== 0) throw new Error(`cannot record the history of ${workflowId}: ${shown.stderr}`);
  mkdirSync(dir, { recursive: true });
  // Compact: a history is data for the replay test, not something to read line by line.
  writeFileSync(join(dir, `${name}.json`), JSON.stringify(JSON.parse(shown.stdout)) + '\n');
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

/** The sweep's Results JSON through a Temporal client, following a continue-as-new chain. */
export async function sweepResult(env: CliEnv, workflowId: string): Promise<ResultsJson> {
  const connection = await Connection.connect({ address: env.temporalAddress });
  try {
    return await new Client({ connection }).workflow.getHandle<typeof trialSweep>(workflowId).result();
  } finally {
    await connection.close();
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
