/**
 * What a sweep reports: one flat record per job and the seed's Results JSON around them.
 * Field names are the seed's (snake_case), because the user's scripts already parse them.
 */
import type { SweepPlan } from './sweep-plan';

/** Why a job did not succeed: the seed's six, plus the ones the seed could not tell apart. */
export const FAILURE_MODES = [
  'FILE_MISSING',
  'FILE_EMPTY',
  'INVALID_JSON',
  'TIMEOUT',
  'SSH_ERROR',
  'EXECUTION_ERROR',
  'EXIT_CODE',
  'KILLED',
  'STALE_OUTPUT',
  'TRIAL_ERROR',
  'CANCELLED',
] as const;
export type FailureMode = (typeof FAILURE_MODES)[number];

export interface JobResult {
  job_id: string;
  success: boolean;
  node: string;
  gpu_id: number;
  /** 1-based batch number. */
  batch: number;
  /** Seconds from the confirmed start to the exit. */
  runtime: number;
  exit_code: number | null;
  signal: string | null;
  failure_mode: FailureMode | null;
  error: string | null;
  /** The output file as the job named it, relative to the node's script_path. */
  output_file: string | null;
  /** The copy of the output file on the results host, in the run's output directory. */
  local_output: string | null;
  started_at: string;
  ended_at: string;
  /** Last bytes of stderr, at most 2 KB. */
  stderr_tail: string;
  /** 1-based: the attempt this record describes (the last one). */
  attempt: number;
  /** Every attempt of the job, the last one included. */
  attempts: AttemptSummary[];
  /** After a failed attempt on a node with `diagnose_command`: the last 2 KB of its output. */
  diagnosis?: string;
  /** SSH_ERROR only: the node stayed out of reach past the job's lease (not a refused login or host key). */
  lost_contact?: true;
  /**
   * This attempt's worker was lost and a retry took its trial over instead of running it again:
   * `adopted` the end record its trial left on the node, or `reattached` to the trial still running.
   */
  resumed?: 'adopted' | 'reattached';
}

/** What one attempt reports; the workflow adds the list of all attempts. */
export type AttemptResult = Omit<JobResult, 'attempts'>;

/**
 * What `runJob` hands the workflow: the attempt, and — when the trial's output is still only on
 * its node (the worker that ran it is not the results host, or its copy failed) — that the
 * results host is to fetch it to `local_output`. Never recorded: the workflow takes it off.
 */
export type RunJobResult = AttemptResult & { fetchOutput?: true };

/** One attempt of a job, as the result lists it. */
export type AttemptSummary = Pick<
  JobResult,
  'attempt' | 'node' | 'gpu_id' | 'failure_mode' | 'error' | 'exit_code' | 'signal' | 'runtime' | 'started_at' | 'diagnosis' | 'resumed'
>;

/**
 * An attempt that ended without its trial's exit: no exit code, no output, no stderr — a dispatch
 * that failed, or a node lost past the job's lease. Built by the workflow and by `runJob`.
 */
export function attemptWithoutExit(
  where: Pick<AttemptResult, 'job_id' | 'node' | 'gpu_id' | 'batch' | 'attempt' | 'output_file'>,
  failure: Pick<AttemptResult, 'failure_mode' | 'error' | 'lost_contact'>,
  startedAt: Date,
  endedAt: Date,
): AttemptResult {
  return {
    ...where,
    ...failure,
    success: false,
    local_output: null,
    exit_code: null,
    signal: null,
    runtime: (endedAt.getTime() - startedAt.getTime()) / 1000,
    started_at: startedAt.toISOString(),
    ended_at: endedAt.toISOString(),
    stderr_tail: '',
  };
}

/** The attempt's line in `attempts`. */
export function summariseAttempt(result: AttemptResult): AttemptSummary {
  const { attempt, node, gpu_id, failure_mode, error, exit_code, signal, runtime, started_at, diagnosis, resumed } = result;
  const optional = { ...(diagnosis !== undefined ? { diagnosis } : {}), ...(resumed !== undefined ? { resumed } : {}) };
  return { attempt, node, gpu_id, failure_mode, error, exit_code, signal, runtime, started_at, ...optional };
}

/** A node's pre-flight check, as the result reports it. */
export interface NodeCheck {
  node: string;
  reachable: boolean;
  latency_ms: number | null;
  /** null when not asked (or not a ROCm node). */
  hip_cache_cleared: boolean | null;
  message: string;
}

/**
 * What the one node probe found — pre-flight's check, the probe before a batch, the probe of a lost
 * node: reachable, the HIP cache cleared if asked, the `health_command` passed if asked and set.
 */
export interface NodeProbe extends NodeCheck {
  /** null when the health command was not asked for or the node has none. */
  healthy: boolean | null;
}

export interface NodeSummary {
  jobs: number;
  successful: number;
  failed: number;
  gpu_count: number;
  gpu_type: string | null;
}

export interface ResultsJson {
  status: 'complete' | 'partial';
  /** The seed's run id: the run folder's name. */
  run_id: string;
  /** The sweep's workflow id, its identity in Temporal and on the nodes. */
  workflow_id: string;
  total_jobs: number;
  successful: number;
  failed: number;
  runtime_seconds: number;
  timestamp: string;
  output_dir: string;
  preserve_paths: boolean;
  batches: number;
  nodes: Record<string, NodeSummary>;
  warnings: string[];
  /** Why the sweep stopped before running every job (max_fail_percentage), else null. */
  stopped_reason: string | null;
  /** Pre-flight checks of every node, before the first batch (empty when switched off). */
  preflight: NodeCheck[];
  /** Nodes left out for the rest of the sweep after failing their probes `quarantine_after` times in a row. */
  quarantined: { node: string; reason: string }[];
  /** Where every job's record is, one JSON object per line. */
  results_file: string;
  /** At most MAX_JOBS_IN_RESULT records and MAX_JOB_BYTES_IN_RESULT of them (failures first when cut); all are in results_file. */
  jobs: JobResult[];
  /** Records left out of `jobs` to keep the result small. */
  jobs_omitted: number;
}

/** Temporal payloads warn at 512 KB: a result listing every job of a 10,000-job sweep would not fit. */
export const MAX_JOBS_IN_RESULT = 500;
/**
 * And by size: failed records carry stderr tails and diagnoses (up to 4 KB each), so 500 of them
 * could pass the warning on their own. The rest of the Results JSON stays small.
 */
export const MAX_JOB_BYTES_IN_RESULT = 300 * 1024;

/** Every job when they fit; otherwise the failures first, then successes, up to the count and size caps. */
function listedJobs(jobs: JobResult[]): JobResult[] {
  const ordered = jobs.length <= MAX_JOBS_IN_RESULT ? jobs : [...jobs.filter((job) => !job.success), ...jobs.filter((job) => job.success)];
  const listed: JobResult[] = [];
  let bytes = 0;
  for (const job of ordered) {
    bytes += JSON.stringify(job).length;
    if (listed.length === MAX_JOBS_IN_RESULT || bytes > MAX_JOB_BYTES_IN_RESULT) break;
    listed.push(job);
  }
  return listed;
}

/** What the Results JSON of a sweep is written from, on the worker host. */
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

export interface ResultsContext {
  runId: string;
  /** Absent for sweeps planned before the two were told apart, whose run id was their workflow id. */
  workflowId?: string;
  totalJobs: number;
  runtimeSeconds: number;
  timestamp: string;
  outputDir: string;
  resultsFile: string;
  preservePaths: boolean;
  batches: number;
  nodes: { name: string; gpuCount: number; gpuType?: string }[];
  warnings: string[];
  stoppedReason?: string;
  preflight: NodeCheck[];
  quarantined?: { node: string; reason: string }[];
}

/** Builds the Results JSON the user's scripts parse: counts per node and overall. */
export function buildResultsJson(context: ResultsContext, jobs: JobResult[]): ResultsJson {
  const nodes: Record<string, NodeSummary> = {};
  for (const node of context.nodes) {
    nodes[node.name] = { jobs: 0, successful: 0, failed: 0, gpu_count: node.gpuCount, gpu_type: node.gpuType ?? null };
  }
  for (const job of jobs) {
    const summary = (nodes[job.node] ??= { jobs: 0, successful: 0, failed: 0, gpu_count: 0, gpu_type: null });
    summary.jobs++;
    if (job.success) summary.successful++;
    else summary.failed++;
  }
  const successful = jobs.filter((job) => job.success).length;
  const failed = context.totalJobs - successful;
  const listed = listedJobs(jobs);
  return {
    status: failed === 0 ? 'complete' : 'partial',
    run_id: context.runId,
    workflow_id: context.workflowId ?? context.runId,
    total_jobs: context.totalJobs,
    successful,
    failed,
    runtime_seconds: Math.round(context.runtimeSeconds * 1000) / 1000,
    timestamp: context.timestamp,
    output_dir: context.outputDir,
    preserve_paths: context.preservePaths,
    batches: context.batches,
    nodes,
    warnings: context.warnings,
    stopped_reason: context.stoppedReason ?? null,
    preflight: context.preflight,
    quarantined: context.quarantined ?? [],
    results_file: context.resultsFile,
    jobs: listed,
    jobs_omitted: jobs.length - listed.length,
  };
}
