/**
 * The user's Python agent (the WATCHER) starting sweeps through the official Temporal Python SDK:
 * examples/watcher/start_sweep.py, run by the venv scripts/setup-examples.sh builds, against the
 * real dev server, a real `rigsweep worker` process and a real sshd rig. Everything is read back
 * from the Results JSON the script prints and from the records the fake trials left on the nodes.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ResultsJson } from '../../src/shared/results';
import type { TestRigs } from '../harness/rigs';
import { startWorkerProcess, type CliEnv } from '../harness/cli';
import { collectRuns, writeJobs, writeUserConfig, type NodeUnderTest, startTestCluster } from '../harness/sweep-fixture';

const ROOT = resolve(__dirname, '..', '..');
const SETUP_EXAMPLES = join(ROOT, 'scripts', 'setup-examples.sh');
const VENV_PYTHON = join(ROOT, 'examples', 'watcher', '.venv', 'bin', 'python');
const START_SWEEP = join(ROOT, 'examples', 'watcher', 'start_sweep.py');

let rigs: TestRigs;
let env: CliEnv;
let work: string;
let nodes: NodeUnderTest[];
let worker: Awaited<ReturnType<typeof startWorkerProcess>>;

interface WatcherRun {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON when the script printed anything (the Results JSON). */
  results?: ResultsJson;
}

/** Runs start_sweep.py with the venv's python, as the WATCHER does. */
function watcher(args: string[], options: { cwd?: string } = {}): Promise<WatcherRun> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, TEMPORAL_ADDRESS: env.temporalAddress, RIGSWEEP_TASK_QUEUE: env.taskQueue };
  delete childEnv.TEMPORAL_NAMESPACE; // the script's default, "default", is the dev server's namespace
  return new Promise((resolvePromise, reject) => {
    const child = spawn(VENV_PYTHON, [START_SWEEP, ...args], { cwd: options.cwd ?? work, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 100_000);
    child.once('error', reject);
    child.once('close', (exitCode) => {
      clearTimeout(timer);
      resolvePromise({ exitCode, stdout, stderr, results: stdout.trim() ? (JSON.parse(stdout) as ResultsJson) : undefined });
    });
  });
}

const job = (id: string, args: string[] = []) => ({
  job_id: id,
  script: 'fake_trial.py',
  args: ['--job', id, '--sleep', '0.2', '--output', `out/${id}.json`, ...args],
  expected_output: `out/${id}.json`,
  timeout: 60,
});
/** Job ids of every trial process the nodes recorded, sorted (one entry per run). */
const ranJobs = (prefix: string) =>
  collectRuns(nodes)
    .map((r) => r.jobId)
    .filter((id) => id.startsWith(prefix))
    .sort();

beforeAll(async () => {
  // pip may need a minute on a fresh machine; scripts/setup.sh normally has done this already.
  if (!existsSync(VENV_PYTHON)) await promisify(execFile)('bash', [SETUP_EXAMPLES], { timeout: 280_000 });
  const cluster = await startTestCluster('watcher', inject('temporalAddress'), { rigCount: 1, localGpus: 2, rigGpus: 2, stagger: 0.2 });
  ({ work, rigs, env, nodes } = cluster);
  const configFile = writeUserConfig(work, 'distributed_config.json', {
    nodes: cluster.configNodes,
    job_batching: { max_jobs_per_batch: 20, max_jobs_per_node_per_batch: 6, inter_batch_cooldown_seconds: 1 },
    trial_command: 'python3 fake_trial.py --job trial_{trial_id} --sleep 0.1 --output out/{run_id}/trial_{trial_id}.json --node-name {node} --gpu-id {gpu}',
    trial_output: 'out/{run_id}/trial_{trial_id}.json',
  });
  worker = await startWorkerProcess(configFile, env, work);
}, 300_000);

afterAll(async () => {
  try {
    if (worker) expect(await worker.stop()).toBe(0);
  } finally {
    await rigs?.stop();
  }
});

describe('the WATCHER starts sweeps with the Temporal Python SDK', () => {
  it('runs --trials 3 from the worker config: Results JSON on stdout, a summary on stderr, exit 0', async () => {
    const run = await watcher(['--trials', '3', '--output-dir', join(work, 'results')]);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.results).toMatchObject({ status: 'complete', total_jobs: 3, successful: 3, failed: 0 });
    const workflowId: string = run.results!.workflow_id;
    const runId: string = run.results!.run_id;
    expect(workflowId).toMatch(/^watcher-trials-3-\d{8}T\d{6}Z$/);
    expect(runId).toMatch(/^results_\d{8}_\d{6}(_\d+)?$/);
    expect(run.results!.jobs.map((j) => j.job_id).sort()).toEqual(['trial_0000', 'trial_0001', 'trial_0002']);
    expect(existsSync(run.results!.results_file)).toBe(true);
    expect(run.stderr).toContain(`sweep ${workflowId} (run ${runId}): complete, 3/3 jobs successful, 0 failed`);
    // The trials really ran, once each, with this sweep's run id in their output paths.
    const runs = collectRuns(nodes).filter((r) => r.startRecord.argv.includes(`out/${runId}/${r.jobId}.json`));
    expect(runs.map((r) => r.jobId).sort()).toEqual(['trial_0000', 'trial_0001', 'trial_0002']);
  });

  it('runs a SCRIPT JOB SPEC file given by a relative path, with --config and --preserve-paths', async () => {
    writeJobs(work, 'watcher_jobs.json', [job('wjob1'), job('wjob2', ['--lr', '0.01']), job('wjob3')]);
    const run = await watcher(
      [
        '--jobs-file',
        'watcher_jobs.json',
        '--config',
        'distributed_config.json',
        '--preserve-paths',
        '--output-dir',
        'results',
        '--workflow-id',
        'watcher-jobs-file',
      ],
      { cwd: work },
    );
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.results).toMatchObject({ workflow_id: 'watcher-jobs-file', status: 'complete', total_jobs: 3, successful: 3, preserve_paths: true });
    expect(run.results!.results_file.startsWith(join(work, 'results'))).toBe(true); // made absolute by the caller
    expect(ranJobs('wjob')).toEqual(['wjob1', 'wjob2', 'wjob3']);
    const wjob2 = collectRuns(nodes).find((r) => r.jobId === 'wjob2')!;
    expect(wjob2.startRecord.argv).toEqual(expect.arrayContaining(['--lr', '0.01']));
  });

  it('exits 1 when a job failed, still with the Results JSON saying which and why', async () => {
    const jobsFile = writeJobs(work, 'watcher_fail.json', [job('wfail_ok'), job('wfail_bad', ['--exit-code', '3'])]);
    const run = await watcher(['--jobs-file', jobsFile, '--preserve-paths', '--max-retries', '0']);
    expect(run.exitCode, run.stderr).toBe(1);
    expect(run.results).toMatchObject({ status: 'partial', successful: 1, failed: 1 });
    const bad = run.results!.jobs.find((j) => j.job_id === 'wfail_bad');
    expect(bad).toMatchObject({ success: false, failure_mode: 'EXIT_CODE', exit_code: 3 });
    expect(ranJobs('wfail_bad')).toEqual(['wfail_bad']); // --max-retries 0 reached the sweep: no retry
  });

  it('ends two concurrent invocations with the same --workflow-id on ONE sweep, and a later one gets its result', async () => {
    const jobsFile = writeJobs(
      work,
      'watcher_same.json',
      [1, 2, 3].map((i) => job(`wsame${i}`, ['--sleep', '2'])),
    );
    const args = ['--jobs-file', jobsFile, '--preserve-paths', '--workflow-id', `watcher-same-${process.pid}`];
    const [first, second] = await Promise.all([watcher(args), watcher(args)]);
    expect(first.exitCode, first.stderr).toBe(0);
    expect(second.exitCode, second.stderr).toBe(0);
    expect(first.results!.workflow_id).toBe(`watcher-same-${process.pid}`);
    expect(second.results).toEqual(first.results); // the same sweep's result, not a second sweep
    expect(ranJobs('wsame')).toEqual(['wsame1', 'wsame2', 'wsame3']); // each job ran once
    // After it completed, the same id returns that sweep's result and runs nothing again.
    const later = await watcher(args);
    expect(later.exitCode, later.stderr).toBe(0);
    expect(later.stderr).toContain('already completed');
    expect(later.results).toEqual(first.results);
    expect(ranJobs('wsame')).toEqual(['wsame1', 'wsame2', 'wsame3']);
  });

  it('exits 2 on bad input, naming the file, and the same id runs once the input is fixed', async () => {
    const missing = join(work, 'watcher_missing.json');
    const args = ['--jobs-file', missing, '--preserve-paths', '--workflow-id', `watcher-missing-${process.pid}`];
    const bad = await watcher(args);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('watcher_missing.json: cannot read jobs file: not found');
    expect(bad.stdout).toBe('');
    expect(ranJobs('wmissing')).toEqual([]);
    // A sweep that failed on its input may be started again under its id.
    writeJobs(work, 'watcher_missing.json', [job('wmissing1')]);
    const fixed = await watcher(args);
    expect(fixed.exitCode, fixed.stderr).toBe(0);
    expect(fixed.results).toMatchObject({ workflow_id: `watcher-missing-${process.pid}`, successful: 1 });
    expect(ranJobs('wmissing')).toEqual(['wmissing1']);
  });

  it('exits 2 on bad usage and 4 when no Temporal server answers', async () => {
    const usage = await watcher(['--trials', '3', '--jobs-file', 'x.json', '--preserve-paths']);
    expect(usage.exitCode).toBe(2);
    expect(usage.stderr).toContain('not allowed with argument');
    const original = env.temporalAddress;
    env = { ...env, temporalAddress: '127.0.0.1:1' };
    try {
      const unreachable = await watcher(['--trials', '1']);
      expect(unreachable.exitCode).toBe(4);
      expect(unreachable.stderr).toContain('cannot reach the Temporal server at 127.0.0.1:1');
    } finally {
      env = { ...env, temporalAddress: original };
    }
  });
});
