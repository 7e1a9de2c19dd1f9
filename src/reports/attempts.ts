/**
 * Every attempt of every job as one flat row, in start order: the joblog lists them line by line
 * and the timeline draws them bar by bar. A job's record lists its attempts; the last one is the
 * record itself, so only it knows whether the job succeeded.
 */
import { type AttemptSummary, type FailureMode, type JobResult, summariseAttempt } from '../shared/results';

/** How an attempt is coloured: a failed attempt whose job later succeeded is told apart from a real failure. */
export type AttemptOutcome = 'success' | 'failed' | 'retried' | 'cancelled';

export interface ReportAttempt {
  /** 1-based position in start order. */
  seq: number;
  jobId: string;
  node: string;
  gpu: number;
  batch: number;
  attempt: number;
  /** Epoch ms; NaN when the record has no usable start time. */
  startMs: number;
  runtimeSeconds: number;
  exitCode: number | null;
  signal: string | null;
  failureMode: FailureMode | null;
  error: string | null;
  success: boolean;
  outcome: AttemptOutcome;
  /** `seq` of the same job's next attempt: the retry this one led to. */
  nextSeq: number | null;
  /** The attempt's trial was taken on after its worker was lost: its end record adopted, or re-attached to. */
  resumed: 'adopted' | 'reattached' | null;
}

/** Attempts of one job by attempt number, the final record included even when `attempts` lacks it. */
function attemptsOf(job: JobResult): AttemptSummary[] {
  const listed = [...(job.attempts ?? [])].sort((a, b) => a.attempt - b.attempt);
  if (!listed.some((summary) => summary.attempt === job.attempt)) listed.push(summariseAttempt(job));
  return listed;
}

function outcomeOf(success: boolean, failureMode: FailureMode | null, jobSucceeded: boolean): AttemptOutcome {
  if (success) return 'success';
  if (failureMode === 'CANCELLED') return 'cancelled';
  return jobSucceeded ? 'retried' : 'failed';
}

/** Flattens the jobs' records into attempts, numbered in start order, each linked to its retry. */
export function listAttempts(jobs: JobResult[]): ReportAttempt[] {
  const perJob = jobs.map((job) =>
    attemptsOf(job).map((summary): ReportAttempt => {
      // Earlier attempts were retried, so they failed; only the last one carries the job's verdict.
      const success = summary.attempt === job.attempt ? job.success : false;
      return {
        seq: 0,
        jobId: job.job_id,
        node: summary.node,
        gpu: summary.gpu_id,
        batch: job.batch,
        attempt: summary.attempt,
        startMs: Date.parse(summary.started_at),
        runtimeSeconds: summary.runtime,
        exitCode: summary.exit_code,
        signal: summary.signal,
        failureMode: summary.failure_mode,
        error: summary.error,
        success,
        outcome: outcomeOf(success, summary.failure_mode, job.success),
        nextSeq: null,
        resumed: summary.resumed ?? null,
      };
    }),
  );
  const all = perJob.flat();
  all.sort((a, b) => (a.startMs || 0) - (b.startMs || 0) || a.jobId.localeCompare(b.jobId) || a.attempt - b.attempt);
  all.forEach((row, index) => (row.seq = index + 1));
  for (const attempts of perJob) attempts.slice(1).forEach((next, i) => (attempts[i].nextSeq = next.seq));
  return all;
}
