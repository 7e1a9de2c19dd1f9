/**
 * Names both worlds must agree on: the task queue, the workflow type, and the messages a
 * running sweep understands. Pure code, safe inside the workflow sandbox.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { SweepProgress } from './progress';

export const DEFAULT_TASK_QUEUE = 'rigsweep';
export const WORKFLOW_TYPE = 'trialSweep';

/** Sent by `runJob` once the trial's process is confirmed running on its node. */
export interface JobStartedSignalArgs {
  /** `runJob`'s `startKey`: which dispatch of which job has started. */
  startKey: string;
  /** Epoch ms on the worker when the node reported the start. */
  startedAtMs: number;
}
export const jobStartedSignal = defineSignal<[JobStartedSignalArgs]>('jobStarted');

/** The sweep's live state and the job lines since `afterSeq` (the CLI follows a run with it). */
export const progressQuery = defineQuery<SweepProgress, [number?]>('progress');

/** Failure types no retry can fix: bad input, an untrusted host key, a refused login. */
export const NON_RETRYABLE_ERROR_TYPES = ['InputError', 'HostKeyError', 'SshAuthError'];
