/**
 * Names both worlds must agree on: the task queue, the workflow type, and the messages a
 * running sweep understands. Pure code, safe inside the workflow sandbox.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ResultsJson } from './results';
import type { LiveSettings, SweepProgress } from './progress';

export const DEFAULT_TASK_QUEUE = 'rigsweep';

/**
 * A full worker's name: its own task queue is `<task queue>@<name>`, where the sweeps it is the
 * results host of send their file work and their localhost nodes' work. A hostname fits.
 */
export const WORKER_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;

/** The queue only full workers poll: a sweep that names no results host is planned there. */
export const fullWorkersQueue = (taskQueue: string) => `${taskQueue}.full`;
/** The results host `name`'s own queue. */
export const resultsHostQueue = (taskQueue: string, name: string) => `${taskQueue}@${name}`;
/** Every queue a full worker named `name` polls: the shared one first. */
export const fullWorkerQueues = (taskQueue: string, name: string) => [taskQueue, fullWorkersQueue(taskQueue), resultsHostQueue(taskQueue, name)];
export const WORKFLOW_TYPE = 'trialSweep';

/** Sent by `runJob` once the trial's process is confirmed running on its node. */
export interface JobStartedSignalArgs {
  /** `runJob`'s `startKey`: which dispatch of which job has started. */
  startKey: string;
  /** Epoch ms on the worker when the node reported the start. */
  startedAtMs: number;
}
export const jobStartedSignal = defineSignal<[JobStartedSignalArgs]>('jobStarted');

/** Sent by a file activity on the results host that failed for a reason its operator can fix: a full disk, a read-only folder. */
export const resultsHostTroubleSignal = defineSignal<[{ reason: string }]>('resultsHostTrouble');

/** The sweep's live state and the job lines since `afterSeq` (the CLI follows a run with it). */
export const progressQuery = defineQuery<SweepProgress, [number?]>('progress');
/** The Results JSON once written — also the partial one of a cancelled sweep; null before. */
export const resultsQuery = defineQuery<ResultsJson | null>('results');

/** Steering. `pause`: no further batch starts (the current one finishes); `resume` lifts it. */
export const pauseSignal = defineSignal<[]>('pause');
export const resumeSignal = defineSignal<[]>('resume');

/**
 * `set`: new numbers for the batches still to come. Validated: a bad value is rejected with a
 * message and the sweep goes on unchanged. `stagger_delay` applies to `node` only when given.
 */
export interface SettingsChange {
  max_jobs_per_batch?: number;
  max_jobs_per_node_per_batch?: number;
  inter_batch_cooldown_seconds?: number;
  stagger_delay?: number;
  node?: string;
}
export const setUpdate = defineUpdate<LiveSettings, [SettingsChange]>('set');

/** `exclude`: no new job starts on the node (or on one of its GPUs); `readmit` undoes it. Returns what changed. */
export interface NodeSelector {
  node: string;
  gpu?: number;
}
export const excludeUpdate = defineUpdate<string, [NodeSelector]>('exclude');
export const readmitUpdate = defineUpdate<string, [NodeSelector]>('readmit');

/** Failure types no retry can fix: bad input, an untrusted host key, a refused login. */
export const NON_RETRYABLE_ERROR_TYPES = ['InputError', 'HostKeyError', 'SshAuthError'];
