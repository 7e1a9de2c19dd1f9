/**
 * What the dispatcher core asks for: every activity and timer of a sweep, and the sweep's end.
 * Work that runs somewhere (an activity) carries a `work` id; its outcome comes back as an event
 * with the same id. The driver carries decisions out and decides nothing. Plain JSON. Pure code.
 */
import type { SweepJob } from '../jobs';
import type { SweepNode } from '../nodes';
import type { JobResult, ResultsJson, WriteResultsInput } from '../results';
import type { TimelineEntry } from '../timeline';
import type { AttemptTimeouts } from './limits';

export type Decision =
  /** Read and check config and jobs on the worker host; claim the run folder. */
  | { type: 'plan'; work: number }
  /** Warm GPU `gpu` up: the command may run `timeoutSeconds`, its activity `startToCloseSeconds`. */
  | { type: 'warmUp'; work: number; node: SweepNode; gpu: number; timeoutSeconds: number; startToCloseSeconds: number }
  /** Read jobs `start` to `end` (exclusive) of the sweep's list. */
  | { type: 'loadJobs'; work: number; start: number; end: number; summary: string }
  /**
   * Start one attempt of a job on one GPU. A standby is sent while the GPU's job still runs and
   * waits on the node for its lock; it counts as running only once that job has ended.
   */
  | {
      type: 'startJob';
      work: number;
      job: SweepJob;
      node: SweepNode;
      gpu: number;
      /** 1-based. */
      attempt: number;
      /** 1-based, as users see it. */
      batch: number;
      /** The node's start spacing in force: its start permit keeps it across sweeps. */
      spacingSeconds: number;
      /** The job must signal its start (a staggered node times its next start from it; a standby may follow it). */
      reportStart: boolean;
      standby: boolean;
      /** The attempt's activity timeouts, from the job's own timeout. */
      timeouts: AttemptTimeouts;
      summary: string;
    }
  /** Take back a standby that has not started: cancel its attempt and tell its node at once (`tell`). */
  | { type: 'withdraw'; work: number; tell: number; node: SweepNode; gpu: number; jobId: string }
  /** Stop work on a node: its process group is killed there before the work ends. */
  | { type: 'cancelWork'; work: number }
  | { type: 'resetNode'; work: number; node: SweepNode; cooldownSeconds: number; summary: string }
  /**
   * Probe a node: is it reachable — pre-flight's check, which on ROCm nodes may clear the HIP
   * kernel cache — and, before a batch or after it was lost (`lost`), does its health_command
   * pass? A lost node's probe counts only while the node is still left out.
   */
  | { type: 'probeNode'; work: number; node: SweepNode; clearHipCache: boolean; health: boolean; lost: boolean; summary: string }
  /** Append final job records and timeline spans to the run folder. */
  | { type: 'record'; work: number; results: JobResult[]; timeline: TimelineEntry[]; summary: string }
  | { type: 'writeResults'; work: number; input: WriteResultsInput }
  /** Hear from the clock at `at` (epoch ms, workflow time): a stagger, a cooldown, a backoff ends. */
  | { type: 'wakeAt'; at: number; summary: string }
  /** Tell Temporal's visibility: the memo and search attributes once planned, the counts at batch edges. */
  | { type: 'publish'; what: 'plan' | 'counts' }
  /** A cooldown begins (the metric counts the time spent cooling down). */
  | { type: 'coolingDown'; seconds: number }
  /** A job goes back to the queue: a retry after its backoff, or a withdrawn standby (same attempt). */
  | { type: 'requeue'; jobId: string; attempt: number; why: 'retry' | 'withdrawn'; batch: number; node: string }
  | { type: 'batchOver'; batch: number }
  /** A quiet point — nothing runs, every result recorded — and the run is due: continue as new with the state. */
  | { type: 'continueAsNew' }
  /** The sweep is over; `results` is null only for a sweep cancelled before it was planned. */
  | { type: 'sweepOver'; results: ResultsJson | null; cancelled: boolean }
  /** The sweep cannot go on (a policy says fail): it fails with this message and error type. */
  | { type: 'failSweep'; message: string; errorType: string };

export type DecisionType = Decision['type'];
