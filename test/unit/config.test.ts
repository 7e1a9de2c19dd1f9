import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/inputs/input-error';
import { loadConfig } from '../../src/inputs/load-config';
import { loadJobsFile } from '../../src/inputs/load-jobs';
import { planSweep } from '../../src/inputs/plan-sweep';

const dir = mkdtempSync(join(tmpdir(), 'rigsweep-config-'));
function file(name: string, value: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value));
  return path;
}

/** Shaped like the user's cluster file: four nodes, sections rigsweep does not use. */
const userConfig = {
  nodes: [
    {
      hostname: 'localhost',
      username: 'michael',
      gpu_count: 2,
      gpu_type: 'RTX 3080 Ti',
      script_path: '/home/michael/distributed_prng_analysis',
      python_env: '/home/michael/venvs/torch/bin/python',
      max_concurrent_script_jobs: 2,
    },
    {
      hostname: '192.168.3.120',
      username: 'michael',
      gpu_count: 8,
      gpu_type: 'RX 6600',
      script_path: '/home/michael/distributed_prng_analysis',
      python_env: '/home/michael/rocm_env/bin/python',
      max_concurrent_script_jobs: 8,
      use_ramdisk: true,
      ramdisk_path: '/dev/shm/prng',
    },
    {
      hostname: '192.168.3.154',
      username: 'michael',
      gpu_count: 8,
      gpu_type: 'RX 6600',
      script_path: '/home/michael/distributed_prng_analysis',
      python_env: '/home/michael/rocm_env/bin/python',
    },
    {
      hostname: '192.168.3.162',
      username: 'michael',
      gpu_count: 0,
      gpu_type: 'RX 6600',
      script_path: '/home/michael/distributed_prng_analysis',
      python_env: '/home/michael/rocm_env/bin/python',
    },
  ],
  sieve_defaults: { window: 512 },
  search_bounds: { seed_min: 0, seed_max: 4294967295 },
  evaluation_thresholds: { min_accuracy: 0.6 },
};

async function inputError(promise: Promise<unknown>): Promise<InputError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InputError);
  return error as InputError;
}

describe('loading the user config', () => {
  it('reads the user file unchanged, applies the seed defaults and skips gpu_count 0', async () => {
    const loaded = await loadConfig(file('user.json', userConfig));
    expect(loaded.nodes.map((n) => [n.name, n.maxConcurrent, n.staggerSeconds, n.isRocm, n.isLocal])).toEqual([
      ['localhost', 2, 3, false, true],
      ['192.168.3.120', 8, 2, true, false],
      ['192.168.3.154', 8, 2, true, false],
    ]);
    expect(loaded.skippedNodes).toEqual([{ name: '192.168.3.162', reason: 'gpu_count is 0 (switched off)' }]);
    expect(loaded.config.job_batching).toEqual({
      enabled: true,
      mode: 'barrier',
      max_jobs_per_batch: 20,
      max_jobs_per_node_per_batch: 6,
      inter_batch_cooldown_seconds: 5,
      allocator_reset_between_batches: true,
    });
  });

  it('names the file and the field of a wrong value', async () => {
    const path = file('bad-gpu.json', { ...userConfig, nodes: [{ ...userConfig.nodes[0], gpu_count: -1 }] });
    const error = await inputError(loadConfig(path));
    expect(error.message).toContain(path);
    expect(error.message).toContain('nodes[0].gpu_count');
  });

  it('rejects a zero max_jobs_per_batch, allows a zero stagger_delay', async () => {
    const error = await inputError(loadConfig(file('zero-batch.json', { ...userConfig, job_batching: { max_jobs_per_batch: 0 } })));
    expect(error.message).toContain('job_batching.max_jobs_per_batch');
    const loaded = await loadConfig(file('zero-stagger.json', { ...userConfig, nodes: [{ ...userConfig.nodes[1], stagger_delay: 0 }] }));
    expect(loaded.nodes[0].staggerSeconds).toBe(0);
  });

  it('rejects duplicate hostnames and a cluster with no usable node', async () => {
    const dup = await inputError(loadConfig(file('dup.json', { nodes: [userConfig.nodes[1], userConfig.nodes[1]] })));
    expect(dup.message).toContain('nodes[1].hostname');
    const none = await inputError(loadConfig(file('none.json', { nodes: [userConfig.nodes[3]] })));
    expect(none.message).toContain('no usable node');
  });

  it('rejects an unknown placeholder in trial_command', async () => {
    const error = await inputError(loadConfig(file('placeholder.json', { ...userConfig, trial_command: 'python3 t.py {trail}' })));
    expect(error.message).toContain('trial_command');
    expect(error.message).toContain('{trail}');
  });

  it('reports malformed JSON and a missing file by name', async () => {
    const path = file('broken.json', '{"nodes": [');
    expect((await inputError(loadConfig(path))).message).toMatch(/broken\.json: cluster config is not valid JSON/);
    expect((await inputError(loadConfig(join(dir, 'absent.json')))).message).toContain('absent.json: cannot read cluster config: not found');
  });
});

describe('loading jobs', () => {
  const job = {
    job_id: 'scorer_trial_7',
    script: 'scorer_trial_worker.py',
    args: ['a.npz', '7', '{"lr": 0.1}'],
    expected_output: 'scorer_trial_results/trial_0007.json',
    timeout: 3600,
    analysis_type: 'scorer',
  };

  it('reads a SCRIPT JOB SPEC v1.0 file with the seed defaults', async () => {
    const { jobs } = await loadJobsFile(file('jobs.json', [job, { job_id: 'j2', script: 's.py' }]));
    expect(jobs[0]).toEqual({
      kind: 'script',
      job_id: 'scorer_trial_7',
      script: 'scorer_trial_worker.py',
      args: ['a.npz', '7', '{"lr": 0.1}'],
      expected_output: 'scorer_trial_results/trial_0007.json',
      timeout: 3600,
    });
    expect(jobs[1]).toMatchObject({ args: [], timeout: 7200 });
  });

  it('rejects duplicate job ids, a missing script and a zero timeout, naming the job', async () => {
    const dup = await inputError(loadJobsFile(file('dup-jobs.json', [job, job])));
    expect(dup.message).toContain('[1].job_id');
    const noScript = await inputError(loadJobsFile(file('no-script.json', [{ job_id: 'x' }])));
    expect(noScript.message).toContain('[0].script');
    const zero = await inputError(loadJobsFile(file('zero-timeout.json', [{ ...job, timeout: 0 }])));
    expect(zero.message).toContain('[0].timeout');
  });
});

describe('planning a sweep from its input', () => {
  it('needs exactly one job source', async () => {
    const config = file('plan-config.json', { ...userConfig, trial_command: 'python3 t.py {trial}' });
    const both = await inputError(planSweep({ trials: 3, jobsFile: 'x.json' }, { sweepId: 'r', startedAt: new Date() }, { configFile: config }));
    expect(both.message).toContain('exactly one of "trials", "jobsFile" or "jobs"');
    const plan = await planSweep({ trials: 50 }, { sweepId: 'sweep-1', startedAt: new Date(2026, 0, 15, 14, 30, 5) }, { configFile: config, cwd: dir });
    // The seed's run id, in local time; the workflow id stays the sweep's identity.
    expect(plan).toMatchObject({
      totalJobs: 50,
      perNodeCap: 6,
      runId: 'full_scoring_results_20260115_143005',
      sweepId: 'sweep-1',
      resultsDir: join(dir, 'full_scoring_results', 'full_scoring_results_20260115_143005'),
    });
    expect(plan.batches.map((b) => b.end - b.start)).toEqual([18, 18, 14]);
  });

  it('asks for trial_command when given only a trial count', async () => {
    const path = file('no-command.json', userConfig);
    const error = await inputError(planSweep({ trials: 3 }, { sweepId: 'r', startedAt: new Date() }, { configFile: path }));
    expect(error.message).toContain(`${path}: trial_command: required`);
  });

  it('validates batching overrides as the config keys they override', async () => {
    const error = await inputError(
      planSweep(
        { trials: 3, batching: { max_jobs_per_batch: 0 } },
        { sweepId: 'r', startedAt: new Date() },
        { configFile: file('c2.json', { ...userConfig, trial_command: 'x' }) },
      ),
    );
    expect(error.message).toContain('batching.max_jobs_per_batch');
  });
});
