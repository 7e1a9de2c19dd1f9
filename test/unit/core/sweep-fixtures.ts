/**
 * Small sweeps built by hand for the core's unit tests: nodes, a plan, a planned state with its
 * nodes' runtimes, an attempt in flight and the result it ends with. Every number is the test's
 * own, so a check can read its expectation off the input it built.
 */
import { jobBatchingSchema, preflightSchema } from '../../../src/shared/config';
import { initialState, nodeRuntime } from '../../../src/shared/dispatch/init';
import type { JobWork, PlannedState } from '../../../src/shared/dispatch/state';
import type { SweepJob } from '../../../src/shared/jobs';
import type { SweepNode } from '../../../src/shared/nodes';
import type { AttemptResult } from '../../../src/shared/results';
import type { SweepPlan } from '../../../src/shared/sweep-plan';

/** A node as the plan lists it; `localhost` is the local node, as in a user's config. */
export function node(name: string, gpuCount: number, extra: Partial<SweepNode> = {}): SweepNode {
  return {
    name,
    hostname: name,
    scriptPath: '/w',
    pythonEnv: 'python3',
    gpuCount,
    maxConcurrent: gpuCount,
    staggerSeconds: 0,
    isLocal: name === 'localhost',
    isRocm: false,
    ...extra,
  };
}

/** One unbatched segment of `totalJobs` jobs over `nodes`; `extra` replaces any field. */
export function plan(nodes: SweepNode[], totalJobs: number, extra: Partial<SweepPlan> = {}): SweepPlan {
  return {
    batches: [{ index: 0, start: 0, end: totalJobs }],
    perNodeCap: null,
    resetBetweenBatches: false,
    cooldownSeconds: 0,
    runId: 'run',
    configFile: 'cluster.json',
    nodes,
    skippedNodes: [],
    jobSource: { kind: 'inline' },
    totalJobs,
    resultsDir: '/tmp/run',
    outputDir: '/tmp',
    preservePaths: true,
    maxRetries: 3,
    retryBackoffSeconds: 5,
    batching: jobBatchingSchema.parse({}),
    preflight: preflightSchema.parse({ enabled: false }),
    ...extra,
  };
}

/** A sweep that has its plan and a runtime for each of its nodes, at `startedAtMs`. */
export function plannedState(sweepPlan: SweepPlan, startedAtMs = 0): PlannedState {
  const state = { ...initialState(startedAtMs), plan: sweepPlan, allNodes: sweepPlan.nodes, phase: 'running' as const };
  for (const each of sweepPlan.nodes) state.nodes[each.name] = nodeRuntime(each);
  return state;
}

export function job(job_id: string, extra: Partial<SweepJob> = {}): SweepJob {
  return { kind: 'script', job_id, script: 'train.py', args: [], timeout: 600, ...extra } as SweepJob;
}

/** Attempt `attempt` of `job` on `nodeName`'s GPU `gpu`, in batch `batch`, holding its GPU. */
export function attemptWork(sweepJob: SweepJob, nodeName: string, gpu: number, extra: Partial<JobWork> = {}, attempt = 1): JobWork {
  return { kind: 'job', entry: { job: sweepJob, attempt, previous: [] }, node: nodeName, gpu, batch: 1, counted: true, started: true, ...extra };
}

/** How `work` ended: a success unless `extra` says otherwise. */
export function resultOf(work: JobWork, extra: Partial<AttemptResult> = {}): AttemptResult {
  return {
    job_id: work.entry.job.job_id,
    node: work.node,
    gpu_id: work.gpu,
    batch: work.batch,
    attempt: work.entry.attempt,
    success: true,
    failure_mode: null,
    exit_code: 0,
    signal: null,
    error: null,
    output_file: null,
    local_output: null,
    runtime: 30,
    started_at: '2026-12-07T10:00:00.000Z',
    ended_at: '2026-12-07T10:00:30.000Z',
    stderr_tail: '',
    ...extra,
  };
}
