/**
 * A trial process of the simulated cluster, where its sweep's events go, and what its attempt
 * reports when it ends — the same AttemptResult the real runJob returns.
 */
import type { SweepEvent } from '../../src/shared/dispatch/events';
import type { AttemptResult, FailureMode } from '../../src/shared/results';
import type { TrialBehaviour } from './scenario';

/** Where a sweep's events go; `over` once it has ended. */
export interface SweepPort {
  id: string;
  feed(event: SweepEvent): void;
  over(): boolean;
}

export interface SimProcess {
  sweep: string;
  work: number;
  jobId: string;
  node: string;
  gpu: number;
  attempt: number;
  batch: number;
  spacingMs: number;
  /** How long its activity retries a node it cannot reach before the attempt fails (its decision's retry window). */
  retryWindowMs: number;
  reportStart: boolean;
  /** A standby waits for this process (of its sweep) to end before it may start. */
  behind?: SimProcess;
  state: 'waiting' | 'running' | 'ended' | 'killed';
  arrivedMs: number;
  startMs?: number;
  endMs?: number;
  /** The attempt was started again after its worker or its link was lost: this process replaced `previous`. */
  restartOf?: SimProcess;
}

/** What the attempt of `process` reports at `nowMs`: its behaviour's outcome, or a lost node's. */
export function attemptResult(process: SimProcess, behaviour: TrialBehaviour, nowMs: number, lost = false): AttemptResult {
  const failure: Record<TrialBehaviour['kind'], FailureMode | null> = {
    ok: null,
    exit: 'EXIT_CODE',
    error: 'TRIAL_ERROR',
    hang: 'TIMEOUT',
    stale: 'STALE_OUTPUT',
  };
  const mode = lost ? 'SSH_ERROR' : failure[behaviour.kind];
  const startMs = process.startMs ?? nowMs;
  return {
    job_id: process.jobId,
    node: process.node,
    gpu_id: process.gpu,
    batch: process.batch,
    attempt: process.attempt,
    success: mode === null,
    failure_mode: mode,
    exit_code: behaviour.kind === 'exit' && !lost ? behaviour.code : behaviour.kind === 'ok' ? 0 : null,
    signal: null,
    error: mode ? `${mode.toLowerCase()} (simulated)` : null,
    output_file: null,
    local_output: null,
    runtime: (nowMs - startMs) / 1000,
    started_at: new Date(startMs).toISOString(),
    ended_at: new Date(nowMs).toISOString(),
    stderr_tail: '',
    ...(lost ? { lost_contact: true as const } : {}),
  };
}
