/**
 * What happens to a sweep, as the dispatcher core hears it: outcomes of the work it asked for
 * (each names the work by the id its decision gave it), operators' messages, the clock, and a
 * cancel. Plain JSON. Pure code.
 */
import type { NodeSelector, SettingsChange } from '../names';
import type { SweepJob } from '../jobs';
import type { AttemptResult, NodeProbe, ResultsJson } from '../results';
import type { SweepPlan } from '../sweep-plan';

/** How a node's reset or warm-up went: never an exception, always data. */
export interface NodeOutcome {
  ok: boolean;
  message: string;
}

export type SweepEvent =
  /** The first run begins: plan the sweep. */
  | { type: 'begin' }
  | { type: 'planned'; work: number; plan: SweepPlan }
  | { type: 'warmedUp'; work: number; outcome: NodeOutcome }
  | { type: 'jobsLoaded'; work: number; jobs: SweepJob[] }
  /** A job's process runs on its node (its start permit let it go), at `startedAtMs` by the worker's clock. */
  | { type: 'jobStarted'; work: number; startedAtMs: number }
  /** A job's activity ended with a result, good or bad. */
  | { type: 'jobEnded'; work: number; result: AttemptResult }
  /** A job's activity failed for good (node unreachable, host key refused): no result of its own. */
  | { type: 'jobFailed'; work: number; errorType?: string; message: string }
  /** Work that was cancelled on purpose (a withdrawn standby, or anything on a sweep's cancel) has ended. */
  | { type: 'workCancelled'; work: number }
  | { type: 'nodeReset'; work: number; outcome: NodeOutcome }
  /** What a probe found (pre-flight's check, a probe before a batch or of a lost node): never an exception, always data. */
  | { type: 'nodeProbed'; work: number; probe: NodeProbe }
  /** Results and timeline were appended to the run folder. */
  | { type: 'recorded'; work: number }
  | { type: 'resultsWritten'; work: number; results: ResultsJson }
  /** A withdrawn standby's node has killed its waiting command. */
  | { type: 'told'; work: number }
  /** A timer the core asked for has fired (others may be due too). */
  | { type: 'timerFired' }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'settingsChanged'; change: SettingsChange }
  | { type: 'exclude'; selector: NodeSelector }
  | { type: 'readmit'; selector: NodeSelector }
  /** The run's history is long enough that it should continue as new at its next quiet point. */
  | { type: 'runDue' }
  | { type: 'cancel' };

export type SweepEventType = SweepEvent['type'];
