/**
 * The end of a sweep on the worker host: the Results JSON and the seed's manifest built from the
 * run's records, written into its run folder, and the reports drawn from them.
 */
import { join } from 'node:path';
import { asyncLocalStorage, log } from '@temporalio/activity';
import { writeReports } from '../reports/write-reports';
import { readJobResults, RESULTS_JSONL, writeResultsFiles } from '../results/run-files';
import { buildResultsJson, type JobResult, type ResultsJson, type WriteResultsInput } from '../shared/results';

export type { WriteResultsInput } from '../shared/results';

/** Builds the Results JSON and the manifest from every job's last record, writes them, draws the reports. */
export async function writeResultsActivity(input: WriteResultsInput): Promise<ResultsJson> {
  const { plan } = input;
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
  await writeResultsFiles(plan.resultsDir, { jobs, results, manifest: runManifest(input, results, jobs) });
  // The reports are a picture of the sweep, not part of it: failing to draw one must not fail the sweep.
  await writeReports(plan.resultsDir).catch((error: unknown) => {
    if (asyncLocalStorage.getStore()) log.warn(`reports not written to ${plan.resultsDir}: ${(error as Error).message}`);
  });
  return results;
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
