/**
 * What the plan activity hands the workflow: everything the dispatcher needs, small and
 * JSON-serialisable (no job list, no secrets), so it travels in history and across continue-as-new.
 */
import type { JobBatching, NodeHealthPolicy, Preflight } from './config';
import type { SweepNode } from './nodes';

export interface BatchRange {
  /** 0-based; shown to users as `index + 1`. */
  index: number;
  /** First job index of the batch. */
  start: number;
  /** One past the last job index. */
  end: number;
}

export interface BatchPlan {
  batches: BatchRange[];
  /** Jobs one node may start within one batch; null when unlimited (a single batch). */
  perNodeCap: number | null;
  /** Reset the rigs and cool down between batches (never before the first). */
  resetBetweenBatches: boolean;
  cooldownSeconds: number;
}

/**
 * Where a batch's jobs are read from; a file is checked against its digest so a change is noticed.
 * `extraArgs` (the input's) travel here, absent when empty, so the workflow passes them along
 * without knowing them and histories of sweeps without them stay as they were.
 */
export type JobSource = (
  { kind: 'file'; path: string; digest: string } | { kind: 'inline' } | { kind: 'trials'; command: string; output?: string; timeout: number }
) & { extraArgs?: string[] };

export interface SweepPlan extends BatchPlan {
  /**
   * The run id users see, the seed's `<stem of output dir>_<YYYYmmdd_HHMMSS>` (`_2`, ... when a
   * sweep of the same second took it): the run folder's name, `run_id` in the Results JSON and
   * the manifest, the `{run_id}` placeholder.
   */
  runId: string;
  /**
   * The sweep's identity: its workflow id, unique per sweep. Processes on the nodes are tagged and
   * killed by it (`RIGSWEEP_JOB=<sweepId>/<job_id>`). Absent in plans made before it existed.
   */
  sweepId?: string;
  configFile: string;
  /** sha256 of the config file as read when planning: the memo shows which config a sweep ran with. */
  configDigest?: string;
  nodes: SweepNode[];
  /** Nodes of the config that take no jobs, with why (e.g. `gpu_count: 0`). */
  skippedNodes: { name: string; reason: string }[];
  jobSource: JobSource;
  totalJobs: number;
  /**
   * The name of the full worker that planned the sweep: its host keeps the run folder and runs the
   * localhost nodes' work. Absent in plans made before it existed: all work then goes to the
   * shared task queue.
   */
  resultsHost?: string;
  /** `<outputDir>/<runId>`, the run folder on the results host: this run's records, reports and copied outputs. */
  resultsDir: string;
  outputDir: string;
  preservePaths: boolean;
  /**
   * Without preservePaths: `<output dir as given>/<run_id>`, the folder on each node (relative
   * to script_path) that outputs are redirected into, as the seed did.
   */
  nodeRunDir?: string;
  /** Further attempts of a job whose run failed. */
  maxRetries: number;
  retryBackoffSeconds: number;
  /** The effective batching settings, to plan again when pre-flight leaves a node out. */
  batching: JobBatching;
  preflight: Preflight;
  /** `lease_seconds`: how long a job on a rig outlives the loss of contact. */
  leaseSeconds?: number;
  /** Probes before batches; absent in plans made before it existed. */
  nodeHealth?: NodeHealthPolicy;
}

export interface LoadBatchJobsInput {
  source: JobSource;
  start: number;
  end: number;
  /** Only for inline jobs: the slice of the workflow input for this batch. */
  inlineJobs?: unknown[];
  /** Redirect `--output-file` arguments into this node-side folder (the plan's nodeRunDir). */
  nodeRunDir?: string;
}
