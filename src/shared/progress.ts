/**
 * The live picture of a sweep that `progressQuery` returns, and the event lines the CLI prints
 * from it. Events are kept in a bounded ring so a 10,000-job sweep does not grow the query answer.
 */
import type { JobResult } from './results';

export type SweepEvent =
  | { seq: number; kind: 'batch-start'; batch: number; batchCount: number; jobs: number }
  | {
      seq: number;
      kind: 'job';
      batch: number;
      job: Pick<JobResult, 'job_id' | 'success' | 'node' | 'gpu_id' | 'runtime' | 'failure_mode' | 'error' | 'attempt'>;
      /** Set when this attempt failed and the job runs again. */
      retry?: { nextAttempt: number; maxAttempts: number; inSeconds: number };
    }
  | { seq: number; kind: 'batch-end'; batch: number; successful: number; jobs: number }
  | { seq: number; kind: 'reset'; batch: number; node: string; ok: boolean; message: string }
  | { seq: number; kind: 'cooldown'; batch: number; seconds: number; node?: string }
  | { seq: number; kind: 'preflight'; node: string; ok: boolean; message: string; gpu?: number }
  | { seq: number; kind: 'probe'; batch: number; node: string; verdict: 'readmitted' | 'left out' | 'quarantined'; message: string };

/** A sweep event before it is numbered. */
export type NewSweepEvent = SweepEvent extends infer E ? (E extends SweepEvent ? Omit<E, 'seq'> : never) : never;

/** What a node is doing, as `rigsweep watch` and `status` show it. */
export type NodeState = 'ok' | 'running' | 'resetting' | 'cooling down' | 'left out' | 'excluded' | 'quarantined';

export interface NodeProgress {
  name: string;
  gpuCount: number;
  /** GPUs running a job of this sweep now. */
  busyGpus: number[];
  /** GPUs an operator excluded (`rigsweep set`/`exclude`): no new job starts there. */
  excludedGpus: number[];
  state: NodeState;
  /** Final results of jobs that ran here. */
  done: number;
  failed: number;
  lastFinished: { job_id: string; success: boolean; runtime: number } | null;
}

/** The numbers an operator may change while a sweep runs; they apply to the batches still to come. */
export interface LiveSettings {
  max_jobs_per_batch: number;
  max_jobs_per_node_per_batch: number;
  inter_batch_cooldown_seconds: number;
  /** Seconds between job starts, per node name. */
  stagger_delay: Record<string, number>;
}

export interface SweepProgress {
  phase: 'planning' | 'pre-flight' | 'running' | 'paused' | 'resetting' | 'cooling down' | 'writing results' | 'done';
  /** A name people filter sweeps by: the jobs file's base name, or `trials`. */
  sweepName: string;
  /** Epoch ms (workflow time) when the sweep started: with `done` it gives trials per minute. */
  startedAtMs: number;
  /** Set by the `pause` signal: no further batch starts until `resume`. */
  pauseRequested: boolean;
  settings: LiveSettings | null;
  nodes: NodeProgress[];
  /** `<outputDir>/<run_id>` on the worker host, where results and reports are written; null before planning. */
  resultsDir: string | null;
  /** The run id users see (the run folder's name); null before planning. */
  runId?: string | null;
  /** 1-based batch in progress, 0 before the first. */
  batch: number;
  batchCount: number;
  totalJobs: number;
  done: number;
  failed: number;
  running: number;
  /** Failed attempts that were retried. */
  retries: number;
  /** What the sweep waits for besides its own rules, e.g. "waiting for the results host gpu-box: …"; absent or null when nothing. */
  waiting?: string | null;
  /** Events with seq > the query's `afterSeq`, oldest first. */
  events: SweepEvent[];
  lastSeq: number;
}

/** A bounded, numbered event log: the query answer stays small however long the sweep runs. */
export class EventLog {
  private readonly events: SweepEvent[] = [];
  private seq = 0;

  constructor(private readonly capacity = 500) {}

  add(event: NewSweepEvent): void {
    this.events.push({ ...event, seq: ++this.seq });
    if (this.events.length > this.capacity) this.events.shift();
  }

  since(afterSeq: number): SweepEvent[] {
    return this.events.filter((event) => event.seq > afterSeq);
  }

  /** The newest lines, to hand to the run that continues the sweep. */
  newest(count: number): SweepEvent[] {
    return this.events.slice(-count);
  }

  /** A run that continues a sweep goes on with the previous run's lines and numbering. */
  continueFrom(events: SweepEvent[], seq: number): void {
    this.events.push(...events);
    this.seq = seq;
  }

  get lastSeq(): number {
    return this.seq;
  }
}
