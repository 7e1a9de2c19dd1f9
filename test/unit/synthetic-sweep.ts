/**
 * Made-up sweeps for the report tests: job records shaped exactly like the workflow's, with
 * retries, and the timeline entries the workflow appends.
 */
import { buildResultsJson, type AttemptSummary, type JobResult, type ResultsJson } from '../../src/shared/results';
import type { TimelineEntry } from '../../src/shared/timeline';

export const T0 = Date.parse('2025-03-01T10:00:00.000Z');

/** One attempt, `startS` seconds after T0. */
export function attempt(
  attemptNumber: number,
  node: string,
  gpu: number,
  startS: number,
  runtime: number,
  failure: Partial<AttemptSummary> = {},
): AttemptSummary {
  return {
    attempt: attemptNumber,
    node,
    gpu_id: gpu,
    failure_mode: null,
    error: null,
    exit_code: 0,
    signal: null,
    runtime,
    started_at: new Date(T0 + startS * 1000).toISOString(),
    ...failure,
  };
}

/** A job's record from its attempts: the last attempt is the record, as the workflow writes it. */
export function jobRecord(jobId: string, batch: number, attempts: AttemptSummary[]): JobResult {
  const last = attempts.at(-1)!;
  return {
    ...last,
    job_id: jobId,
    success: last.failure_mode === null,
    batch,
    output_file: null,
    local_output: null,
    ended_at: new Date(Date.parse(last.started_at) + last.runtime * 1000).toISOString(),
    stderr_tail: '',
    attempts,
  };
}

export const failedWith = (exitCode: number): Partial<AttemptSummary> => ({ failure_mode: 'EXIT_CODE', exit_code: exitCode, error: `exit code ${exitCode}` });

export interface SyntheticSweep {
  jobs: JobResult[];
  timeline: TimelineEntry[];
  results: ResultsJson;
}

type Lane = { node: string; gpu: number };

/**
 * Job i's attempts on the earliest free lane (`laneFree`: seconds after T0, updated): every 7th
 * fails once and succeeds on the next lane, every 50th fails twice, every 97th is cancelled.
 */
function scheduleJob(i: number, lanes: Lane[], laneFree: number[], runtime: number): AttemptSummary[] {
  const at = laneFree.indexOf(Math.min(...laneFree));
  const { node, gpu } = lanes[at];
  const start = laneFree[at] + 0.4;
  if (i % 7 === 3) {
    const next = (at + 1) % lanes.length;
    const retryStart = Math.max(start + 1.5, laneFree[next] + 0.4);
    laneFree[at] = start + 1;
    laneFree[next] = retryStart + runtime;
    return [attempt(1, node, gpu, start, 1, failedWith(3)), attempt(2, lanes[next].node, lanes[next].gpu, retryStart, runtime)];
  }
  if (i % 50 === 49) {
    laneFree[at] = start + runtime * 1.5;
    return [attempt(1, node, gpu, start, runtime / 2, failedWith(4)), attempt(2, node, gpu, start + runtime, runtime / 2, failedWith(4))];
  }
  if (i % 97 === 96) {
    laneFree[at] = start + runtime / 3;
    return [attempt(1, node, gpu, start, runtime / 3, { failure_mode: 'CANCELLED', exit_code: null, signal: 'SIGTERM' })];
  }
  laneFree[at] = start + runtime;
  return [attempt(1, node, gpu, start, runtime)];
}

/**
 * `count` jobs on `nodes` × `gpus` lanes in batches of `batchSize` (see scheduleJob), each batch
 * but the last followed by a reset of every rig (the third node's fails) and a cooldown.
 */
export function syntheticSweep(count: number, options: { nodes?: string[]; gpus?: number; batchSize?: number; runtime?: number } = {}): SyntheticSweep {
  const nodes = options.nodes ?? ['localhost', '192.168.3.120', '192.168.3.121'];
  const gpus = options.gpus ?? 4;
  const batchSize = options.batchSize ?? 20;
  const runtime = options.runtime ?? 6;
  const lanes = nodes.flatMap((node) => Array.from({ length: gpus }, (_, gpu) => ({ node, gpu })));
  const jobs: JobResult[] = [];
  const timeline: TimelineEntry[] = [];
  let clock = 0;
  for (let first = 0, batch = 1; first < count; first += batchSize, batch++) {
    const laneFree = lanes.map(() => clock);
    for (let i = first; i < Math.min(count, first + batchSize); i++) {
      jobs.push(jobRecord(`trial_${String(i).padStart(4, '0')}`, batch, scheduleJob(i, lanes, laneFree, runtime)));
    }
    const end = Math.max(...laneFree) + 0.2;
    timeline.push({ kind: 'batch', batch, start_ms: T0 + clock * 1000, end_ms: T0 + end * 1000 });
    if (first + batchSize < count) {
      for (const node of nodes.slice(1))
        timeline.push({ kind: 'reset', batch: batch + 1, node, start_ms: T0 + end * 1000, end_ms: T0 + (end + 0.6) * 1000, ok: node !== nodes[2] });
      timeline.push({ kind: 'cooldown', batch: batch + 1, start_ms: T0 + (end + 0.6) * 1000, end_ms: T0 + (end + 5.6) * 1000 });
      clock = end + 5.6;
    }
  }
  const results = buildResultsJson(
    {
      runId: 'synthetic-run',
      totalJobs: count,
      runtimeSeconds: clock + runtime * 2,
      timestamp: new Date(T0 + (clock + runtime * 2) * 1000).toISOString(),
      outputDir: '/tmp/synthetic-run',
      resultsFile: '/tmp/synthetic-run/results.jsonl',
      preservePaths: false,
      batches: Math.ceil(count / batchSize),
      nodes: nodes.map((name) => ({ name, gpuCount: gpus, gpuType: name === 'localhost' ? 'RTX 3080 Ti' : 'RX 6600' })),
      warnings: [],
      preflight: [],
    },
    jobs,
  );
  return { jobs, timeline, results };
}
