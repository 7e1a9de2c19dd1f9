/**
 * The user's step 3 (`run_step3_full_scoring.sh`) against rigsweep: a jobs file shaped like the
 * step-3 generator's (absolute `--output-file`, `chunk_file`, `seed_count`), run twice without
 * `--preserve-paths` from the project folder, then what the script does next — find the newest
 * run with `ls -td`, print the manifest's counts, aggregate the `chunk_*.json` files there — and
 * the same jobs with `--preserve-paths`, which write where they say.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { readJson } from '../harness/read-json';
import type { TrialOutput } from '../harness/rigs';
import { runCli } from '../harness/cli';
import { startTestCluster, writeJobs, writeUserConfig, type TestCluster } from '../harness/sweep-fixture';

const CHUNKS = 6;

/** scripts_run_manifest.json (src/activities/write-results.ts): the keys this test reads one by one. */
interface RunManifest {
  timestamp: string;
  runtime_seconds: number;
  outputs: string[];
}

let cluster: TestCluster;
let project: string;
let config: string;
/**
 * Where the step-3 generator's absolute `--output-file` paths point: the project's own
 * `full_scoring_results/`, the folder two runs used to overwrite each other's chunks in.
 */
let absoluteOutputs: string;

beforeAll(async () => {
  cluster = await startTestCluster('step3', inject('temporalAddress'), { rigCount: 2, localGpus: 2, rigGpus: 2, stagger: 0 });
  // The user's project folder is localhost's script_path: the script runs the coordinator there.
  project = cluster.rigs.localWorkDir;
  absoluteOutputs = join(project, 'full_scoring_results');
  config = writeUserConfig(cluster.work, 'distributed_config.json', { nodes: cluster.configNodes, preflight: { enabled: false } });
});

const chunkFilesAt = (folder: string) =>
  existsSync(folder)
    ? readdirSync(folder)
        .filter((name) => /^chunk_.*\.json$/.test(name))
        .sort()
    : [];

afterAll(async () => {
  await cluster?.rigs.stop();
});

/** The step-3 generator's jobs: `full_scoring_NNNN`, absolute `--output-file`, fields rigsweep ignores. */
function step3Jobs(prefix: string) {
  return Array.from({ length: CHUNKS }, (_, i) => {
    const n = String(i).padStart(4, '0');
    return {
      job_id: `${prefix}_${n}`,
      analysis_type: 'full_scoring',
      script: 'fake_trial.py',
      args: [
        '--job',
        `${prefix}_${n}`,
        '--seeds-file',
        `/home/michael/distributed_prng_analysis/seeds/chunk_${n}.json`,
        '--train-history',
        'train.json',
        '--holdout-history',
        'holdout.json',
        '--output-file',
        join(absoluteOutputs, `chunk_${n}.json`),
        '--prng-type',
        'java_lcg',
        '--mod',
        '1000',
        '--sleep',
        '0.2',
      ],
      expected_output: `full_scoring_results/chunk_${n}.json`,
      chunk_file: `seeds/chunk_${n}.json`,
      seed_count: 50_000,
      timeout: 600,
    };
  });
}

/** What the script runs: `--jobs-file scoring_jobs.json --config distributed_config.json`, from the project folder. */
function coordinator(jobsFile: string, ...extra: string[]) {
  return runCli(['run', '--jobs-file', jobsFile, '--config', config, ...extra], cluster.env, { cwd: project });
}

/** The script's own next steps, in its own shell words. */
function newestRun(): string {
  return execFileSync('sh', ['-c', 'ls -td full_scoring_results/full_scoring_results_* | head -1'], { cwd: project, encoding: 'utf8' }).trim();
}
const chunksIn = (runDir: string) =>
  readdirSync(join(project, runDir))
    .filter((name) => /^chunk_.*\.json$/.test(name))
    .sort();

describe("the user's step 3, unchanged", () => {
  let first: Awaited<ReturnType<typeof coordinator>>;
  let second: Awaited<ReturnType<typeof coordinator>>;

  it('runs the step-3 jobs twice, each into a run folder of its own named as the seed named it', async () => {
    const jobsFile = writeJobs(cluster.work, 'scoring_jobs.json', step3Jobs('full_scoring'));
    first = await coordinator(jobsFile);
    expect(first.exitCode, first.stderr).toBe(0);
    second = await coordinator(jobsFile);
    expect(second.exitCode, second.stderr).toBe(0);
    for (const run of [first, second]) {
      expect(run.results!.run_id).toMatch(/^full_scoring_results_\d{8}_\d{6}(_\d+)?$/);
      expect(run.results!.output_dir).toBe(join(project, 'full_scoring_results', run.results!.run_id));
      // The workflow id stays the sweep's identity, different from the run id users see.
      expect(run.results!.workflow_id).toMatch(/^rigsweep-scoring_jobs-/);
    }
    expect(second.results!.run_id).not.toBe(first.results!.run_id);
    expect(new Set([...first.results!.jobs, ...second.results!.jobs].map((job) => job.node)).size).toBe(3);
  });

  it('finds the newer run with ls -td and aggregates exactly its chunks there', () => {
    const newest = newestRun();
    expect(newest).toBe(`full_scoring_results/${second.results!.run_id}`);
    const expected = Array.from({ length: CHUNKS }, (_, i) => `chunk_${String(i).padStart(4, '0')}.json`);
    expect(chunksIn(newest)).toEqual(expected);
    expect(chunksIn(`full_scoring_results/${first.results!.run_id}`)).toEqual(expected);
    for (const run of [first, second]) {
      for (const job of run.results!.jobs) {
        const name = basename(job.output_file!);
        // On its node below script_path, as the seed put it; at home directly in the run folder.
        expect(job.output_file).toBe(`full_scoring_results/${run.results!.run_id}/${name}`);
        expect(job.local_output).toBe(join(run.results!.output_dir, name));
        const node = cluster.nodes.find((candidate) => candidate.name === job.node)!;
        expect(readFileSync(join(node.workDir, job.output_file!), 'utf8')).toBe(readFileSync(job.local_output!, 'utf8'));
        // Each run's chunk is its own: the trial process that wrote it ran in that sweep.
        expect(readJson<TrialOutput>(job.local_output!).params.job).toBe(job.job_id);
      }
    }
    const pids = (run: typeof first) => run.results!.jobs.map((job) => readJson<TrialOutput>(job.local_output!).trial_id);
    expect(pids(first).filter((id: string) => pids(second).includes(id))).toEqual([]);
    // rigsweep's own files there cannot be taken for chunks or trials.
    for (const name of readdirSync(second.results!.output_dir)) expect(/^(chunk|trial)_.*\.json$/.test(name) && !expected.includes(name)).toBe(false);
    // Nothing was written where the jobs' absolute --output-file pointed.
    expect(chunkFilesAt(absoluteOutputs)).toEqual([]);
  });

  it('writes the seed manifest the script prints its counts from', () => {
    const manifest = readJson<RunManifest>(join(project, newestRun(), 'scripts_run_manifest.json'));
    const printed = execFileSync(
      'python3',
      [
        '-c',
        "import json,sys; m=json.load(open(sys.argv[1])); print(m['run_id'], m['jobs_expected'], m['jobs_completed'], m['jobs_failed'])",
        join(project, newestRun(), 'scripts_run_manifest.json'),
      ],
      { encoding: 'utf8' },
    );
    expect(printed.trim()).toBe(`${second.results!.run_id} ${CHUNKS} ${CHUNKS} 0`);
    expect(manifest).toMatchObject({
      manifest_version: '1.0.0',
      script_job_spec_version: '1.0',
      run_id: second.results!.run_id,
      config_file: config,
      jobs_file: join(cluster.work, 'scoring_jobs.json'),
      jobs_expected: CHUNKS,
      jobs_completed: CHUNKS,
      jobs_failed: 0,
      output_dir: second.results!.output_dir,
      failures: [],
      nodes: second.results!.nodes,
    });
    expect(new Date(manifest.timestamp).toISOString()).toBe(manifest.timestamp);
    expect(typeof manifest.runtime_seconds).toBe('number');
    expect(manifest.outputs.sort()).toEqual(second.results!.jobs.map((job) => job.output_file).sort());
  });

  it('with --preserve-paths, writes where the jobs say', async () => {
    // On localhost, where the absolute path and expected_output name the same file, as on the user's nodes.
    const localOnly = writeUserConfig(cluster.work, 'local_config.json', { nodes: [cluster.configNodes[0]], preflight: { enabled: false } });
    const jobsFile = writeJobs(cluster.work, 'preserved_jobs.json', step3Jobs('preserved'));
    const run = await runCli(['run', '--jobs-file', jobsFile, '--config', localOnly, '--preserve-paths'], cluster.env, { cwd: project });
    expect(run.exitCode, run.stderr).toBe(0);
    const expected = Array.from({ length: CHUNKS }, (_, i) => `chunk_${String(i).padStart(4, '0')}.json`);
    expect(chunkFilesAt(absoluteOutputs)).toEqual(expected);
    for (const job of run.results!.jobs) {
      expect(job.output_file).toBe(`full_scoring_results/${basename(job.output_file!)}`);
      expect(readJson<TrialOutput>(join(absoluteOutputs, basename(job.output_file!))).params.job).toBe(job.job_id);
    }
    // rigsweep's own records still go to a run folder of their own.
    expect(existsSync(join(project, 'full_scoring_results', run.results!.run_id, 'sweep_results.json'))).toBe(true);
  });
});
