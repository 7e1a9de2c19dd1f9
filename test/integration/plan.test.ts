/**
 * `rigsweep plan` and `--dry-run` through the real CLI: the exact plan and the dry-run JSON, with
 * no Temporal server (the address points at a closed port) and no rig reached (made-up addresses).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type CliEnv, type CliRun, type DryRunJson, runCli } from '../harness/cli';
import { writeJobs, writeUserConfig } from '../harness/sweep-fixture';

let work: string;
let env: CliEnv;
let configFile: string;

const NODES = ['localhost', '192.0.2.10', '192.0.2.11'];

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'rigsweep-plan-'));
  env = { temporalAddress: '127.0.0.1:1', taskQueue: 'no-worker-needed', home: work };
  configFile = writeUserConfig(work, 'distributed_config.json', {
    nodes: [
      { hostname: 'localhost', gpu_count: 2, script_path: work, python_env: '/usr/bin/python3', stagger_delay: 3 },
      { hostname: '192.0.2.10', username: 'michael', gpu_count: 8, script_path: '~/prng', python_env: '~/rocm_env/bin/python', stagger_delay: 2 },
      { hostname: '192.0.2.11', username: 'michael', gpu_count: 8, script_path: '~/prng', python_env: '~/rocm_env/bin/python', stagger_delay: 2 },
    ],
    job_batching: { max_jobs_per_batch: 20, max_jobs_per_node_per_batch: 6, inter_batch_cooldown_seconds: 5 },
    trial_command: 'python3 scorer_trial_worker.py --trial {trial} --gpu-id {gpu}',
  });
});

/** The JSON after `Dry run JSON:`, which must be the last thing on stdout. */
function dryRunJson(run: CliRun): DryRunJson {
  expect(run.stdout).toContain('Dry run JSON:\n');
  return run.dryRun!;
}

function plannedJobIds(json: DryRunJson): string[] {
  return Object.values(json.assignments)
    .flat()
    .map((entry) => entry.job_id)
    .sort();
}

describe('rigsweep plan', () => {
  it('prints every batch, node, GPU and start of 50 trials, then the dry-run JSON, with no server', async () => {
    const run = await runCli(['plan', '--trials', '50', '--config', configFile, '--expected-trial-seconds', '2.8'], env);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toContain('[BATCH 1/3] 18 jobs, starts at +0.0s');
    expect(run.stdout).toContain('  trial_0000 → localhost:GPU0 at +0.0s');
    expect(run.stdout).toMatch(/^ETA: .+ \(expected trial 2\.8s\)$/m);
    const json = dryRunJson(run);
    expect(json).toMatchObject({ status: 'dry_run', total_jobs: 50, batches: 3, expected_trial_seconds: 2.8 });
    expect(json.workflow_id).toMatch(/^rigsweep-trials-50-[0-9a-f]{10}$/);
    expect(json.run_id).toMatch(/^full_scoring_results_\d{8}_\d{6}$/);
    expect(Object.keys(json.assignments)).toEqual(NODES);
    expect(plannedJobIds(json)).toEqual(Array.from({ length: 50 }, (_, i) => `trial_${String(i).padStart(4, '0')}`));
    const last = Object.values(json.assignments).flat();
    expect(json.eta_seconds).toBeGreaterThanOrEqual(Math.max(...last.map((entry) => entry.planned_end_s)));
  });

  it('plans a jobs file with `run --dry-run` and `start --dry-run`, under the given workflow id', async () => {
    const ids = Array.from({ length: 50 }, (_, i) => `scorer_trial_${i}`);
    const jobsFile = writeJobs(
      work,
      'scorer_jobs.json',
      ids.map((job_id) => ({ job_id, script: 'scorer_trial_worker.py', args: ['7'] })),
    );
    const run = await runCli(['run', '--dry-run', '--jobs-file', jobsFile, '--config', configFile], env);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toContain('[BATCH 1/3]');
    expect(run.stdout).toContain('(expected trial 60s)');
    const json = dryRunJson(run);
    expect(json).toMatchObject({ status: 'dry_run', total_jobs: 50, expected_trial_seconds: 60 });
    expect(json.workflow_id).toMatch(/^rigsweep-scorer_jobs-[0-9a-f]{10}$/);
    expect(plannedJobIds(json)).toEqual([...ids].sort());

    const start = await runCli(['start', '--dry-run', '--jobs-file', jobsFile, '--config', configFile, '--workflow-id', 'my-sweep'], env);
    expect(start.exitCode, start.stderr).toBe(0);
    expect(dryRunJson(start).workflow_id).toBe('my-sweep');
  });

  it('exits 2 on bad input, exactly like run, and prints no plan', async () => {
    const badConfig = writeUserConfig(work, 'bad_config.json', { nodes: [{ hostname: 'localhost', gpu_count: -1, script_path: work }] });
    const bad = await runCli(['plan', '--trials', '5', '--config', badConfig], env);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('nodes[0].gpu_count');
    expect(bad.stdout).toBe('');

    const badDuration = await runCli(['run', '--dry-run', '--trials', '5', '--config', configFile, '--expected-trial-seconds', '0'], env);
    expect(badDuration.exitCode).toBe(2);
    expect(badDuration.stdout).toBe('');
  });
});
