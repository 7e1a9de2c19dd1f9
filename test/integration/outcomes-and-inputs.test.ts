/**
 * What users rely on beyond the happy path, through the real CLI, worker, server and rigs:
 * the success rule, timeouts that kill, the exit codes, trials from a trial_command, attaching to
 * a running sweep, and sweeps started by the official `temporal` CLI.
 */
import { chmodSync, mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startRigs, type TestRigs } from '../harness/rigs';
import {
  clusterNodes,
  collectRuns,
  recordHistory,
  runCli,
  startWorkerProcess,
  temporalCli,
  writeJobs,
  writeUserConfig,
  type CliEnv,
  type NodeUnderTest,
  type TemporalCliResult,
  type TemporalCliStarted,
} from '../harness/sweep-fixture';

let rigs: TestRigs;
let env: CliEnv;
let work: string;
let nodes: NodeUnderTest[];
let configFile: string;
let configNodes: Record<string, unknown>[];

const job = (id: string, args: string[], extra: Record<string, unknown> = {}) => ({
  job_id: id,
  script: 'fake_trial.py',
  args: ['--job', id, '--sleep', '0.2', ...args],
  expected_output: `out/${id}.json`,
  timeout: 60,
  ...extra,
});

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'rigsweep-it2-'));
  chmodSync(work, 0o755);
  rigs = await startRigs({ count: 2, stateDir: join(work, 'rigs') });
  env = { temporalAddress: inject('temporalAddress'), taskQueue: `it-outcomes-${process.pid}`, home: rigs.home };
  const cluster = clusterNodes(rigs, { localGpus: 2, rigGpus: 2, stagger: 0.2 });
  nodes = cluster.nodes;
  configNodes = cluster.configNodes;
  configFile = writeUserConfig(work, 'distributed_config.json', {
    nodes: configNodes,
    job_batching: { max_jobs_per_batch: 20, max_jobs_per_node_per_batch: 6, inter_batch_cooldown_seconds: 1 },
    trial_command: 'python3 fake_trial.py --job trial_{trial_id} --sleep 0.1 --output out/{run_id}/trial_{trial_id}.json --node-name {node} --gpu-id {gpu}',
    trial_output: 'out/{run_id}/trial_{trial_id}.json',
  });
});

afterAll(async () => {
  await rigs?.stop();
});

describe('the success rule, through real trials', () => {
  it('tells every way a trial can fail apart and exits 1', async () => {
    // A stale result from an earlier run sits where the 'stale' job would write, on every node.
    for (const node of nodes) {
      mkdirSync(join(node.workDir, 'out'), { recursive: true });
      chmodSync(join(node.workDir, 'out'), 0o777); // the rigs' trials run as the rig user
      writeFileSync(join(node.workDir, 'out', 'stale.json'), '{"status": "success", "accuracy": 0.9}');
      utimesSync(join(node.workDir, 'out', 'stale.json'), new Date(Date.now() - 3600_000), new Date(Date.now() - 3600_000));
    }
    const jobsFile = writeJobs(work, 'outcomes.json', [
      job('ok', ['--output', 'out/ok.json', '--accuracy', '-inf', '--status', 'pruned']),
      job('exit3', ['--output', 'out/exit3.json', '--exit-code', '3']),
      job('trialerror', ['--output', 'out/trialerror.json', '--status', 'error', '--accuracy', '-inf']),
      job('crashed', ['--output', 'out/crashed.json', '--status', 'error', '--exit-code', '1']),
      job('stale', []),
      job('missing', []),
      job('oom', ['--output', 'out/oom.json', '--signal-self', 'KILL']),
      job('slow', ['--sleep', '30', '--ignore-term'], { timeout: 2 }),
    ]);
    // --preserve-paths, as the user runs it: outputs stay where the jobs name them, next to old ones.
    const run = await runCli(
      ['run', '--jobs-file', jobsFile, '--config', configFile, '--output-dir', join(work, 'results'), '--max-retries', '0', '--preserve-paths'],
      env,
    );
    expect(run.exitCode, run.stderr).toBe(1);
    expect(run.results).toMatchObject({ status: 'partial', preserve_paths: true });
    await recordHistory(env, run.results!.workflow_id, 'failure-modes-timeout-kill');
    const modes = Object.fromEntries(run.results!.jobs.map((j) => [j.job_id, j.failure_mode]));
    expect(modes).toEqual({
      ok: null,
      exit3: 'EXIT_CODE',
      trialerror: 'TRIAL_ERROR',
      crashed: 'TRIAL_ERROR',
      stale: 'STALE_OUTPUT',
      missing: 'FILE_MISSING',
      oom: 'KILLED',
      slow: 'TIMEOUT',
    });
    const byId = Object.fromEntries(run.results!.jobs.map((j) => [j.job_id, j]));
    expect(byId.oom.signal).toBe('SIGKILL');
    expect(byId.exit3.exit_code).toBe(3);
    expect(byId.crashed).toMatchObject({ exit_code: 1, error: expect.stringContaining('status "error"') as unknown });
    expect(run.stdout).toMatch(/^ {2}✗ stale → \S+:GPU\d \(\d+\.\ds\) STALE_OUTPUT: out\/stale\.json is older than this attempt/m);
  });

  it('kills the whole process group of a job that times out, even one that ignores SIGTERM', () => {
    const slow = collectRuns(nodes).find((r) => r.jobId === 'slow')!;
    expect(slow.endRecord).toBeUndefined(); // killed by SIGKILL before it could finish
    expect(() => process.kill(slow.startRecord.pid, 0)).toThrow();
  });
});

// Run folders, redirected outputs and the seed's manifest: test/integration/step3-drop-in.test.ts.

describe('retries of failed runs', () => {
  it('retries a run that failed on another GPU, shows every attempt, and never retries a trial that reported an error', async () => {
    // One rig with 2 GPUs: the first attempt of every job lands on GPU 0, which is "broken".
    const rigOnly = writeUserConfig(work, 'retry_config.json', {
      nodes: [{ ...configNodes[1], gpu_count: 2, max_concurrent_script_jobs: 1 }],
      retry_backoff_seconds: 0.2,
    });
    const jobsFile = writeJobs(work, 'retry_jobs.json', [
      job('flaky', ['--output', 'out/flaky.json', '--fail-on-gpu', '0']),
      job('broken', ['--exit-code', '4']),
      job('reported', ['--output', 'out/reported.json', '--status', 'error']),
    ]);
    const run = await runCli(
      ['run', '--jobs-file', jobsFile, '--preserve-paths', '--config', rigOnly, '--output-dir', join(work, 'results'), '--max-retries', '2'],
      env,
    );
    expect(run.exitCode, run.stderr).toBe(1);
    await recordHistory(env, run.results!.workflow_id, 'retries-on-another-gpu');
    const byId = Object.fromEntries(run.results!.jobs.map((j) => [j.job_id, j]));
    expect(byId.flaky).toMatchObject({ success: true, attempt: 2, gpu_id: 1 });
    expect(byId.flaky.attempts.map((a) => [a.attempt, a.gpu_id, a.failure_mode])).toEqual([
      [1, 0, 'EXIT_CODE'],
      [2, 1, null],
    ]);
    expect(byId.broken).toMatchObject({ success: false, attempt: 3, failure_mode: 'EXIT_CODE' });
    expect(byId.broken.attempts).toHaveLength(3);
    expect(byId.reported).toMatchObject({ success: false, attempt: 1, failure_mode: 'TRIAL_ERROR' });
    expect(run.stdout).toMatch(/^ {2}✗ flaky → \S+:GPU0 \(\d+\.\ds\) EXIT_CODE: exit code 3 — retry 2\/3 in 0\.2s$/m);
    expect(run.stdout).toMatch(/^ {2}✓ flaky → \S+:GPU1 \(\d+\.\ds\) on attempt 2$/m);
    const starts = collectRuns(nodes).filter((r) => ['flaky', 'broken', 'reported'].includes(r.jobId));
    expect(starts.filter((r) => r.jobId === 'broken')).toHaveLength(3);
    expect(starts.filter((r) => r.jobId === 'reported')).toHaveLength(1);
  });
});

describe('max_fail_percentage', () => {
  it('starts no further batch once a batch failed above it, and says why', async () => {
    const stopping = writeUserConfig(work, 'stop_config.json', {
      nodes: [{ ...configNodes[1], gpu_count: 2 }],
      job_batching: { max_jobs_per_batch: 2, max_jobs_per_node_per_batch: 2, inter_batch_cooldown_seconds: 0, max_fail_percentage: 50 },
    });
    const jobsFile = writeJobs(
      work,
      'stop_jobs.json',
      [0, 1, 2, 3].map((i) => job(`doomed${i}`, ['--exit-code', '5'])),
    );
    const run = await runCli(
      ['run', '--jobs-file', jobsFile, '--preserve-paths', '--config', stopping, '--output-dir', join(work, 'results'), '--max-retries', '0'],
      env,
    );
    expect(run.exitCode, run.stderr).toBe(1);
    expect(run.results).toMatchObject({ total_jobs: 4, successful: 0, failed: 4, batches: 1 }); // batches that ran
    expect(run.results!.stopped_reason).toBe('batch 1: 2 of 2 jobs failed (100%), above max_fail_percentage 50; no further batch was started');
    expect(run.results!.jobs.map((j) => j.job_id)).toEqual(['doomed0', 'doomed1']);
    expect(run.stderr).toContain('sweep stopped early: batch 1');
    expect(
      collectRuns(nodes)
        .filter((r) => r.jobId.startsWith('doomed'))
        .map((r) => r.jobId)
        .sort(),
    ).toEqual(['doomed0', 'doomed1']);
  });
});

// Bad input (exit 2, nothing started) has its own file, bad-input.test.ts: it is a fault test of `npm run chaos`.
describe('no server, and help', () => {
  it('says how to start a server when Temporal cannot be reached, exit 4', async () => {
    const jobsFile = writeJobs(work, 'one.json', [job('one', ['--output', 'out/one.json'])]);
    const run = await runCli(['run', '--jobs-file', jobsFile, '--preserve-paths', '--config', configFile], { ...env, temporalAddress: '127.0.0.1:1' });
    expect(run.exitCode).toBe(4);
    expect(run.stderr).toContain('cannot reach the Temporal server at 127.0.0.1:1');
    expect(run.stderr).toContain('temporal server start-dev');
  });

  it('shows help right away', async () => {
    const run = await runCli(['--help'], env);
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toContain('Usage: rigsweep');
  });
});

describe('trials from the config trial_command', () => {
  it('renders {trial_id}, {gpu}, {node} and {run_id} per dispatch and checks trial_output', async () => {
    const run = await runCli(['run', '--trials', '5', '--config', configFile, '--output-dir', join(work, 'results'), '--workflow-id', 'trials-five'], env);
    expect(run.exitCode, run.stderr).toBe(0);
    // {run_id} is the seed's run id, the run folder's name, not the workflow id.
    expect(run.results).toMatchObject({
      workflow_id: 'trials-five',
      run_id: expect.stringMatching(/^results_\d{8}_\d{6}/) as unknown,
      total_jobs: 5,
      successful: 5,
    });
    await recordHistory(env, 'trials-five', 'trials-from-trial-command');
    const runs = collectRuns(nodes).filter(
      (r) => /^trial_000[0-4]$/.test(r.jobId) && r.startRecord.argv.includes(`out/${run.results!.run_id}/${r.jobId}.json`),
    );
    expect(runs.map((r) => r.jobId).sort()).toEqual(['trial_0000', 'trial_0001', 'trial_0002', 'trial_0003', 'trial_0004']);
    for (const r of runs) {
      const argv = r.startRecord.argv;
      expect(argv[argv.indexOf('--node-name') + 1]).toBe(r.node);
      expect(r.startRecord.env.CUDA_VISIBLE_DEVICES).toBe(String(r.gpu));
      expect(argv.at(-1)).toBe(String(r.gpu)); // nothing appended after the user's command
    }
  });
});

describe('one sweep per command', () => {
  it('attaches a second invocation to the sweep the first one started', async () => {
    const jobsFile = writeJobs(
      work,
      'attach.json',
      [1, 2, 3].map((i) => job(`attach${i}`, ['--output', `out/attach${i}.json`, '--sleep', '1'])),
    );
    const args = ['--jobs-file', jobsFile, '--preserve-paths', '--config', configFile, '--output-dir', join(work, 'results')];
    const started = await runCli(['start', ...args], env);
    expect(started.exitCode, started.stderr).toBe(0);
    const workflowId = started.stdout.trim();
    expect(workflowId).toMatch(/^rigsweep-attach-[0-9a-f]{10}$/);
    const run = await runCli(['run', ...args], env);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stderr).toContain(`attached to running sweep ${workflowId}`);
    // One sweep, two names: its workflow id, and the seed's run id that names its run folder.
    expect(run.results).toMatchObject({ workflow_id: workflowId, run_id: expect.stringMatching(/^results_\d{8}_\d{6}(_\d+)?$/) as unknown });
    expect(
      collectRuns(nodes)
        .filter((r) => r.jobId.startsWith('attach'))
        .map((r) => r.jobId)
        .sort(),
    ).toEqual(['attach1', 'attach2', 'attach3']);
    // The same command after the sweep finished is a new sweep, not the old one again.
    const again = await runCli(['start', ...args], env);
    expect(again.stdout.trim()).toBe(`${workflowId}-2`);
    const rerun = await runCli(['run', ...args], env);
    expect(rerun.exitCode, rerun.stderr).toBe(0);
    expect(rerun.results!.workflow_id).toBe(`${workflowId}-2`);
    expect(rerun.results!.run_id).not.toBe(run.results!.run_id);
  });
});

describe('sweeps started by the official temporal CLI', () => {
  it('plans on the worker host from {"trials": N}, and fails bad input without retrying', async () => {
    const worker = await startWorkerProcess(configFile, env, work);
    try {
      const ok = await temporalCli(
        [
          'workflow',
          'execute',
          '--type',
          'trialSweep',
          '--task-queue',
          env.taskQueue,
          '--workflow-id',
          'from-temporal-cli',
          '--input',
          '{"trials": 3}',
          '--output',
          'json',
        ],
        env,
      );
      expect(ok.exitCode, ok.stderr + ok.stdout).toBe(0);
      expect((JSON.parse(ok.stdout) as TemporalCliResult).result).toMatchObject({
        workflow_id: 'from-temporal-cli',
        total_jobs: 3,
        successful: 3,
        status: 'complete',
      });
      // A jobs file with preservePaths; a second start of the same id attaches (UseExisting).
      const jobsFile = writeJobs(
        work,
        'temporal_cli_jobs.json',
        [1, 2].map((i) => job(`tcli${i}`, ['--output', `out/tcli${i}.json`, '--sleep', '1'])),
      );
      const input = JSON.stringify({ jobsFile, preservePaths: true, outputDir: join(work, 'results') });
      const startArgs = [
        'workflow',
        'start',
        '--type',
        'trialSweep',
        '--task-queue',
        env.taskQueue,
        '--workflow-id',
        'jobs-from-temporal-cli',
        '--id-conflict-policy',
        'UseExisting',
        '--input',
        input,
        '--output',
        'json',
      ];
      const first = await temporalCli(startArgs, env);
      const second = await temporalCli(startArgs, env);
      expect([first.exitCode, second.exitCode], first.stderr + second.stderr).toEqual([0, 0]);
      expect((JSON.parse(second.stdout) as TemporalCliStarted).runId).toBe((JSON.parse(first.stdout) as TemporalCliStarted).runId);
      const result = await temporalCli(['workflow', 'result', '--workflow-id', 'jobs-from-temporal-cli', '--output', 'json'], env);
      expect((JSON.parse(result.stdout) as TemporalCliResult).result).toMatchObject({ total_jobs: 2, successful: 2, preserve_paths: true });
      expect(
        collectRuns(nodes)
          .filter((r) => r.jobId.startsWith('tcli'))
          .map((r) => r.jobId)
          .sort(),
      ).toEqual(['tcli1', 'tcli2']);
      const bad = await temporalCli(
        [
          'workflow',
          'execute',
          '--type',
          'trialSweep',
          '--task-queue',
          env.taskQueue,
          '--workflow-id',
          'bad-from-temporal-cli',
          '--input',
          '{"trials": 3, "jobsFile": "x.json"}',
        ],
        env,
      );
      expect(bad.exitCode).not.toBe(0);
      expect(bad.stderr + bad.stdout).toContain('give exactly one of "trials", "jobsFile" or "jobs"');
    } finally {
      expect(await worker.stop()).toBe(0);
    }
  });
});
