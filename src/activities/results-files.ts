/**
 * Results on the worker host: every job's record appended to `results.jsonl` as batches finish (so
 * an interrupted sweep keeps what it did), and the Results JSON written once at the end.
 */
import { appendFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { asyncLocalStorage, log } from '@temporalio/activity';
import { writeReports } from '../reports/write-reports';
import { buildResultsJson, type JobResult, type ResultsJson, type WriteResultsInput } from '../shared/results';

export type { WriteResultsInput } from '../shared/results';
import type { SweepPlan } from '../shared/sweep-plan';

export const RESULTS_JSONL = 'results.jsonl';
export const RESULTS_JSON = 'sweep_results.json';
export const MANIFEST_JSON = 'scripts_run_manifest.json';

export async function appendJobResults(resultsDir: string, results: JobResult[]): Promise<void> {
  await mkdir(resultsDir, { recursive: true });
  await appendFile(join(resultsDir, RESULTS_JSONL), results.map((result) => JSON.stringify(result) + '\n').join(''));
}

/** Every job's last record, in job order (a retried append may have written one twice). */
export async function readJobResults(resultsDir: string): Promise<JobResult[]> {
  let text = '';
  try {
    text = await readFile(join(resultsDir, RESULTS_JSONL), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const byId = new Map<string, JobResult>();
  for (const line of text.split('\n')) if (line.trim()) byId.set((JSON.parse(line) as JobResult).job_id, JSON.parse(line));
  return [...byId.values()];
}


async function writeAtomically(path: string, text: string): Promise<void> {
  await writeFile(`${path}.tmp`, text);
  await rename(`${path}.tmp`, path);
}

export async function writeResultsActivity(input: WriteResultsInput): Promise<ResultsJson> {
  const { plan } = input;
  await mkdir(plan.resultsDir, { recursive: true });
  const jobs = await readJobResults(plan.resultsDir);
  const results = buildResultsJson(
    {
      runId: plan.runId,
      workflowId: plan.sweepId,
      totalJobs: plan.totalJobs,
      runtimeSeconds: (Date.now() - input.startedAtMs) / 1000,
      timestamp: new Date().toISOString(),
      outputDir: plan.resultsDir,
      resultsFile: join(plan.resultsDir, RESULTS_JSONL),
      preservePaths: plan.preservePaths,
      batches: input.batches ?? plan.batches.length,
      nodes: plan.nodes,
      warnings: input.warnings,
      stoppedReason: input.stoppedReason,
      preflight: input.preflight,
      quarantined: input.quarantined,
    },
    jobs,
  );
  await writeAtomically(join(plan.resultsDir, RESULTS_JSONL), jobs.map((job) => JSON.stringify(job) + '\n').join(''));
  await writeAtomically(join(plan.resultsDir, RESULTS_JSON), JSON.stringify(results, null, 2) + '\n');
  await writeAtomically(join(plan.resultsDir, MANIFEST_JSON), JSON.stringify(runManifest(input, results, jobs), null, 2) + '\n');
  // The reports are a picture of the sweep, not part of it: failing to draw one must not fail the sweep.
  await writeReports(plan.resultsDir).catch((error: unknown) => {
    if (asyncLocalStorage.getStore()) log.warn(`reports not written to ${plan.resultsDir}: ${(error as Error).message}`);
  });
  return results;
}

/** Starts a run's records afresh: a workflow id used again must not inherit an old run's lines. */
export async function startResultsFile(resultsDir: string): Promise<void> {
  await mkdir(resultsDir, { recursive: true });
  await writeFile(join(resultsDir, RESULTS_JSONL), '');
}

/**
 * The seed's `scripts_run_manifest.json`, written for every run (also with preservePaths), with
 * exactly the seed's keys and shapes — the user's step-3 script prints `run_id`, `jobs_expected`,
 * `jobs_completed` and `jobs_failed` from it. What rigsweep adds has keys of its own.
 */
function runManifest(input: WriteResultsInput, results: ResultsJson, jobs: JobResult[]) {
  const { plan } = input;
  return {
    manifest_version: '1.0.0',
    script_job_spec_version: '1.0',
    run_id: plan.runId,
    timestamp: results.timestamp,
    config_file: plan.configFile,
    jobs_file: plan.jobSource.kind === 'file' ? plan.jobSource.path : null,
    jobs_expected: plan.totalJobs,
    jobs_completed: results.successful,
    jobs_failed: results.failed,
    runtime_seconds: results.runtime_seconds,
    output_dir: plan.resultsDir,
    outputs: jobs.filter((job) => job.success && job.output_file).map((job) => job.output_file),
    failures: jobs.filter((job) => !job.success).map(({ job_id, failure_mode, error }) => ({ job_id, failure_mode, error })),
    nodes: results.nodes,
    workflow_id: results.workflow_id,
    status: results.status,
    started_at: new Date(input.startedAtMs).toISOString(),
    job_source: plan.jobSource.kind,
    preserve_paths: plan.preservePaths,
    node_output_dir: plan.nodeRunDir ?? null,
    results_file: results.results_file,
    output_details: jobs.map(({ job_id, success, node, gpu_id, output_file, local_output }) => ({ job_id, success, node, gpu_id, output_file, local_output })),
  };
}
