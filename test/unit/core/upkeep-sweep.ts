/**
 * A small discrete-event driver for the upkeep tests: a sweep planned by hand (nodes, batches,
 * numbers given by each test), run through the core's public `decide` on a virtual clock, with
 * every decision answered the plain way — jobs start at once and end after `jobSeconds`, resets
 * and probes answer after a second with the outcome the test chose, timers fire when asked.
 * Operators' messages are injected at given times. Everything the core decided is kept in `trace`
 * for the tests to read their rules back from. No expectation is computed here.
 */
import type { JobBatching, NodeHealthPolicy } from '../../../src/shared/config';
import { decide } from '../../../src/shared/dispatch/core';
import type { Decision } from '../../../src/shared/dispatch/decisions';
import type { NodeOutcome, SweepEvent } from '../../../src/shared/dispatch/events';
import type { BatchPolicy } from '../../../src/shared/dispatch/policies';
import { initialState } from '../../../src/shared/dispatch/init';
import type { SweepState } from '../../../src/shared/dispatch/state';
import type { TimelineEntry } from '../../../src/shared/timeline';
import type { SweepJob } from '../../../src/shared/jobs';
import type { SweepNode } from '../../../src/shared/nodes';
import type { AttemptResult, NodeProbe, ResultsJson } from '../../../src/shared/results';
import type { BatchRange, SweepPlan } from '../../../src/shared/sweep-plan';

export { node } from './sweep-fixtures';
import { plan } from './sweep-fixtures';

/** Contiguous ranges of `size` jobs (the last may be shorter), as a plan lists its batches. */
export function ranges(total: number, size: number): BatchRange[] {
  const out: BatchRange[] = [];
  for (let start = 0; start < total; start += size) out.push({ index: out.length, start, end: Math.min(total, start + size) });
  return out;
}

export interface SweepShape {
  nodes: SweepNode[];
  totalJobs: number;
  /** The planned ranges; the per-node cap null makes the sweep unbatched. */
  batches: BatchRange[];
  perNodeCap: number | null;
  batching: Partial<JobBatching>;
  reset?: boolean;
  cooldownSeconds?: number;
  nodeHealth?: NodeHealthPolicy;
  maxRetries?: number;
}

/** A barrier sweep of `total` jobs in batches of `size`, at most `cap` per node per batch. */
export function barrier(nodes: SweepShape['nodes'], total: number, size: number, cap: number, more: Partial<SweepShape> = {}): SweepShape {
  return {
    nodes,
    totalJobs: total,
    batches: ranges(total, size),
    perNodeCap: cap,
    batching: { mode: 'barrier', max_jobs_per_batch: size, max_jobs_per_node_per_batch: cap },
    ...more,
  };
}

/** Each batch's first start and its last job's end, by the batch number its starts carry. */
export function batchTimes(sweep: Sweep): Map<number, { firstStart: number; lastEnd: number }> {
  const ended = new Map(sweep.heard('jobEnded').map(({ at, event }) => [event.work, at]));
  const out = new Map<number, { firstStart: number; lastEnd: number }>();
  for (const { at, decision } of sweep.decided('startJob')) {
    const seen = out.get(decision.batch) ?? { firstStart: at, lastEnd: -Infinity };
    out.set(decision.batch, { firstStart: Math.min(seen.firstStart, at), lastEnd: Math.max(seen.lastEnd, ended.get(decision.work)!) });
  }
  return out;
}

/** The timeline as recorded: every span handed to a record, and what is still unrecorded. */
export function timeline(sweep: Sweep): TimelineEntry[] {
  return [...sweep.decided('record').flatMap(({ decision }) => decision.timeline), ...sweep.state.timeline];
}

export function planOf(shape: SweepShape): SweepPlan {
  const batching: JobBatching = {
    enabled: true,
    mode: 'barrier',
    max_jobs_per_batch: 20,
    max_jobs_per_node_per_batch: 6,
    inter_batch_cooldown_seconds: shape.cooldownSeconds ?? 0,
    allocator_reset_between_batches: shape.reset ?? false,
    ...shape.batching,
  };
  return plan(shape.nodes, shape.totalJobs, {
    preservePaths: false,
    maxRetries: shape.maxRetries ?? 0,
    retryBackoffSeconds: 1,
    batching,
    preflight: { enabled: false, clear_hip_cache: false, required: false, warmup_timeout_seconds: 10 },
    batches: shape.batches,
    perNodeCap: shape.perNodeCap,
    resetBetweenBatches: shape.reset ?? false,
    cooldownSeconds: shape.cooldownSeconds ?? 0,
    ...(shape.nodeHealth ? { nodeHealth: shape.nodeHealth } : {}),
  });
}

export interface Step {
  at: number;
  event: SweepEvent;
  decisions: Decision[];
  /** After the step: the sweep's phase and how each node is shown (resetting, cooling down). */
  phase: SweepState['phase'];
  upkeep: Record<string, SweepState['nodes'][string]['upkeep']>;
}

export interface Behaviour {
  /** Seconds job `index` (0-based in the list) runs; default 10. */
  jobSeconds?: (index: number) => number;
  /** A job that fails its first attempt (exit code 1). */
  failsFirst?: (index: number) => boolean;
  /** A job whose first attempt comes back as its node lost past the lease (SSH_ERROR, lost_contact). */
  lost?: (index: number) => boolean;
  resetOutcome?: (node: string, at: number) => NodeOutcome;
  /** The health probe's verdict for `node`, its `n`th probe (1-based). */
  probeHealthy?: (node: string, n: number, at: number) => boolean;
  /** Seconds a reset or probe takes; default 1. */
  upkeepSeconds?: number;
  /** Seconds a reset of `node` takes, when it is not `upkeepSeconds`. */
  resetSeconds?: (node: string) => number;
  /** A reset never answers (it hangs on the node) until the sweep is cancelled. */
  resetHangs?: boolean;
}

type Pending = { at: number; seq: number; event: SweepEvent };

export class Sweep {
  readonly state: SweepState = initialState(0);
  readonly trace: Step[] = [];
  now = 0;
  private pending: Pending[] = [];
  private seq = 0;
  private probes: Record<string, number> = {};
  private started: Record<number, { job: number; node: string; gpu: number; attempt: number; batch: number }> = {};

  constructor(
    readonly plan: SweepPlan,
    private readonly behaviour: Behaviour = {},
    /** A policy handed to the core in place of the plan's mode, as the simulator tries a new mode. */
    private readonly policy?: BatchPolicy,
  ) {}

  /** An operator's message (or any event) at `at` ms. */
  inject(at: number, event: SweepEvent): this {
    this.push(at, event);
    return this;
  }

  /** Runs until nothing is left to happen, or `untilMs`. */
  run(untilMs = 10_000_000): this {
    if (this.trace.length === 0) this.feed({ type: 'begin' });
    for (let guard = 0; guard < 100_000 && !this.state.over; guard++) {
      this.pending.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.pending.shift();
      if (!next || next.at > untilMs) {
        if (next) this.pending.unshift(next);
        break;
      }
      this.now = Math.max(this.now, next.at);
      this.feed(next.event);
    }
    return this;
  }

  /** Every decision of one type, with when it was made. */
  decided<T extends Decision['type']>(type: T): { at: number; decision: Extract<Decision, { type: T }> }[] {
    return this.trace.flatMap((step) =>
      step.decisions.filter((d): d is Extract<Decision, { type: T }> => d.type === type).map((decision) => ({ at: step.at, decision })),
    );
  }

  /** Every event of one type fed to the core, with when. */
  heard<T extends SweepEvent['type']>(type: T): { at: number; event: Extract<SweepEvent, { type: T }> }[] {
    return this.trace.filter((step) => step.event.type === type).map((step) => ({ at: step.at, event: step.event as Extract<SweepEvent, { type: T }> }));
  }

  /** The progress lines of one kind. */
  logged<K extends SweepState['log']['events'][number]['kind']>(kind: K): Extract<SweepState['log']['events'][number], { kind: K }>[] {
    return this.state.log.events.filter((e): e is Extract<SweepState['log']['events'][number], { kind: K }> => e.kind === kind);
  }

  private push(at: number, event: SweepEvent): void {
    this.pending.push({ at, seq: this.seq++, event });
  }

  private feed(event: SweepEvent): void {
    const decisions = decide(this.state, event, this.now, this.policy);
    const upkeep = Object.fromEntries(Object.entries(this.state.nodes).map(([name, runtime]) => [name, runtime.upkeep]));
    this.trace.push({ at: this.now, event, decisions, phase: this.state.phase, upkeep });
    for (const decision of decisions) this.answer(decision);
  }

  private answer(d: Decision): void {
    const now = this.now;
    const b = this.behaviour;
    const upkeepMs = (b.upkeepSeconds ?? 1) * 1000;
    switch (d.type) {
      case 'plan':
        return this.push(now, { type: 'planned', work: d.work, plan: this.plan });
      case 'loadJobs': {
        const jobs: SweepJob[] = [];
        for (let i = d.start; i < d.end; i++) jobs.push({ kind: 'trial', job_id: `j${i}`, trial: i, command: 'true', timeout: 600 });
        return this.push(now, { type: 'jobsLoaded', work: d.work, jobs });
      }
      case 'startJob': {
        const index = Number(d.job.job_id.slice(1));
        this.started[d.work] = { job: index, node: d.node.name, gpu: d.gpu, attempt: d.attempt, batch: d.batch };
        this.push(now, { type: 'jobStarted', work: d.work, startedAtMs: now });
        const fails = d.attempt === 1 && (b.failsFirst?.(index) ?? false);
        const lost = d.attempt === 1 && (b.lost?.(index) ?? false);
        const result = this.result(d.work, now, fails || lost);
        if (lost) Object.assign(result, { failure_mode: 'SSH_ERROR', exit_code: null, error: 'lost contact', lost_contact: true });
        return this.push(now + (b.jobSeconds?.(index) ?? 10) * 1000, { type: 'jobEnded', work: d.work, result });
      }
      case 'resetNode':
        if (b.resetHangs) return;
        return this.push(now + (b.resetSeconds?.(d.node.name) ?? upkeepMs / 1000) * 1000, {
          type: 'nodeReset',
          work: d.work,
          outcome: b.resetOutcome?.(d.node.name, now) ?? { ok: true, message: 'reset' },
        });
      case 'probeNode': {
        const n = (this.probes[d.node.name] = (this.probes[d.node.name] ?? 0) + 1);
        const healthy = b.probeHealthy?.(d.node.name, n, now) ?? true;
        const probe: NodeProbe = {
          node: d.node.name,
          reachable: true,
          latency_ms: 1,
          hip_cache_cleared: null,
          message: healthy ? 'ok' : `health_command exited 1 (${d.node.name} #${n})`,
          healthy,
        };
        return this.push(now + upkeepMs, { type: 'nodeProbed', work: d.work, probe });
      }
      case 'record':
        return this.push(now, { type: 'recorded', work: d.work });
      case 'writeResults':
        return this.push(now, { type: 'resultsWritten', work: d.work, results: { status: 'complete' } as ResultsJson });
      case 'wakeAt':
        return this.push(d.at, { type: 'timerFired' });
      case 'cancelWork':
        // The work is stopped on its node: what it would have reported later is dropped; an answer due now is already on its way.
        this.pending = this.pending.filter((p) => !('work' in p.event) || p.event.work !== d.work || p.at <= now);
        return this.push(now, { type: 'workCancelled', work: d.work });
      case 'withdraw':
        this.pending = this.pending.filter((p) => !('work' in p.event) || p.event.work !== d.work);
        this.push(now, { type: 'told', work: d.tell });
        return this.push(now, { type: 'workCancelled', work: d.work });
      default:
        return;
    }
  }

  private result(work: number, startedAt: number, fails: boolean): AttemptResult {
    const s = this.started[work];
    return {
      job_id: `j${s.job}`,
      success: !fails,
      node: s.node,
      gpu_id: s.gpu,
      batch: s.batch,
      runtime: 1,
      exit_code: fails ? 1 : 0,
      signal: null,
      failure_mode: fails ? 'EXIT_CODE' : null,
      error: fails ? 'exit code 1' : null,
      output_file: null,
      local_output: null,
      started_at: new Date(startedAt).toISOString(),
      ended_at: new Date(startedAt + 1000).toISOString(),
      stderr_tail: '',
      attempt: s.attempt,
    };
  }
}
