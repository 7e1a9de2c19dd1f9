/**
 * Results on the worker host: every job's record appended to `results.jsonl` as batches finish (so
 * an interrupted sweep keeps what it did), and the Results JSON written once at the end.
 */
import { appendFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { asyncLocalStorage, log } from '@temporalio/activity';
import { writeReports } from '../reports/write-reports';
import { buildResultsJson, type JobResult, type NodeCheck, type ResultsJson } from '../shared/results';
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

export interface WriteResultsInput {
  plan: SweepPlan;
  startedAtMs: number;
  warnings: string[];
  stoppedReason?: string;
  preflight: NodeCheck[];
  /** Batches that ran, when operators changed the plan while it ran (else the planned count). */
  batches?: number;
  quarantined?: { node: string; reason: string }[];
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
 * The seed's `scripts_run_manifest.json`, written for every run (also with preservePaths): what
 * ran, from which files, and where every output is — on its node and, copied home, here.
 */
function runManifest(input: WriteResultsInput, results: ResultsJson, jobs: JobResult[]) {
  const { plan } = input;
  return {
    run_id: plan.runId,
    status: results.status,
    started_at: new Date(input.startedAtMs).toISOString(),
    finished_at: results.timestamp,
    jobs_file: plan.jobSource.kind === 'file' ? plan.jobSource.path : null,
    job_source: plan.jobSource.kind,
    config_file: plan.configFile,
    total_jobs: plan.totalJobs,
    successful: results.successful,
    failed: results.failed,
    output_dir: plan.resultsDir,
    preserve_paths: plan.preservePaths,
    node_output_dir: plan.nodeRunDir ?? null,
    nodes: plan.nodes.map((node) => node.name),
    results_file: results.results_file,
    outputs: jobs.map(({ job_id, success, node, gpu_id, output_file, local_output }) => ({ job_id, success, node, gpu_id, output_file, local_output })),
  };
}
