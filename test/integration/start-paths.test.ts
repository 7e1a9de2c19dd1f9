/**
 * Every way a sweep starts, through the real CLI, worker, server and rigs: without a server (exit
 * 4) and with help, trials from the config's trial_command, a second invocation attaching to the
 * first's sweep, and sweeps started by the official `temporal` CLI.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { TestRigs } from '../harness/rigs';
import { recordHistory, runCli, startWorkerProcess, temporalCli, type CliEnv, type TemporalCliResult, type TemporalCliStarted } from '../harness/cli';
import { job, startScorerCluster } from '../harness/scorer-cluster';
import { collectRuns, writeJobs, type NodeUnderTest } from '../harness/sweep-fixture';

let rigs: TestRigs;
let env: CliEnv;
let work: string;
let nodes: NodeUnderTest[];
let configFile: string;

beforeAll(async () => {
  ({ work, rigs, env, nodes, configFile } = await startScorerCluster('starts', inject('temporalAddress')));
});

afterAll(async () => {
  await rigs?.stop();
});

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
