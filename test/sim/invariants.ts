/**
 * The rules of a sweep, checked after every step of the core — on its decisions and its state,
 * not only on what the simulated permits let through — and on what the simulated nodes ran:
 * never two live copies of a job; at most one trial per GPU; a node's concurrency within its cap;
 * starts on a node at least its stagger apart; no start inside a reset or its cooldown; per-batch
 * and per-node-per-batch caps; and at the end: every job at most one final record (exactly one
 * when the sweep ran to its end), the Results JSON's counts equal to the records, a cancelled
 * sweep ended as cancelled with nothing of it left running.
 */
import { DISPATCH_LEAD_MS } from '../../src/shared/dispatch/dispatching';
import type { Decision } from '../../src/shared/dispatch/decisions';
import type { SweepEvent } from '../../src/shared/dispatch/events';
import type { SweepState } from '../../src/shared/dispatch/state';
import type { SimCluster } from './cluster';
import type { SimProcess } from './sim-process';

export class InvariantError extends Error {}

function check(holds: boolean, rule: string, detail: () => string): void {
  if (!holds) throw new InvariantError(`${rule}: ${detail()}`);
}

interface NodeStarts {
  /** The last start decision on the node, until it reported its start or ended. */
  awaiting: number | null;
  /** The latest start any attempt on the node reported. */
  lastStartMs: number | null;
  /** When the last attempt ended without having started. */
  endedUnstartedMs: number | null;
}

/** Follows one sweep's decisions step by step. */
export class DecisionChecker {
  private readonly starts = new Map<string, NodeStarts>();
  private readonly nodeOf = new Map<number, string>();
  private readonly startedWorks = new Set<number>();
  /** Per batch number: first attempts started, in all and per node, and the caps it began with. */
  private readonly batches = new Map<number, { total: number; perNode: Map<string, number>; cap: number | null; maxJobs: number }>();

  constructor(private readonly sweep: string) {}

  afterStep(state: SweepState, event: SweepEvent, decisions: Decision[], now: number): void {
    this.hear(event, now);
    for (const decision of decisions) {
      if (decision.type === 'startJob') this.started(state, decision, now);
      // A withdrawn standby spent no attempt: its node's count of first attempts gives it back.
      if (decision.type === 'requeue' && decision.why === 'withdrawn' && decision.attempt === 1) {
        const count = this.batches.get(decision.batch);
        if (count) count.perNode.set(decision.node, (count.perNode.get(decision.node) ?? 1) - 1);
      }
    }
    this.inFlight(state);
  }

  private hear(event: SweepEvent, now: number): void {
    if (!('work' in event)) return;
    const node = this.nodeOf.get(event.work);
    const starts = node === undefined ? undefined : this.starts.get(node);
    if (!starts) return;
    if (event.type === 'jobStarted') {
      this.startedWorks.add(event.work);
      starts.lastStartMs = Math.max(starts.lastStartMs ?? -Infinity, event.startedAtMs);
      if (starts.awaiting === event.work) starts.awaiting = null;
    }
    if ((event.type === 'jobEnded' || event.type === 'jobFailed' || event.type === 'workCancelled') && starts.awaiting === event.work) {
      starts.awaiting = null;
      if (!this.startedWorks.has(event.work)) starts.endedUnstartedMs = now;
    }
  }

  private started(state: SweepState, decision: Extract<Decision, { type: 'startJob' }>, now: number): void {
    const node = decision.node.name;
    const runtime = state.nodes[node];
    const previous = this.starts.get(node) ?? { awaiting: null, lastStartMs: null, endedUnstartedMs: null };
    const stagger = decision.spacingSeconds * 1000;
    if (stagger > 0) {
      check(
        previous.awaiting === null,
        'starts on a node at least its stagger apart',
        () => `${this.sweep}: ${decision.job.job_id} sent to ${node} at ${now} ms before its previous job there reported its start`,
      );
      const after = Math.max((previous.lastStartMs ?? -Infinity) + stagger - DISPATCH_LEAD_MS, (previous.endedUnstartedMs ?? -Infinity) + stagger);
      check(
        now >= after - 1,
        'starts on a node at least its stagger apart',
        () =>
          `${this.sweep}: ${decision.job.job_id} sent to ${node} at ${now} ms, the last start there was at ${previous.lastStartMs} (one ended unstarted at ${previous.endedUnstartedMs}), stagger ${stagger} ms`,
      );
    }
    this.starts.set(node, { ...previous, awaiting: decision.work, endedUnstartedMs: null });
    this.nodeOf.set(decision.work, node);
    const resetting = Object.values(state.work).some((work) => work.kind === 'reset' && work.node === node);
    check(!resetting, 'no start inside a reset', () => `${this.sweep}: ${decision.job.job_id} sent to ${node} while it resets`);
    // Checked after the step: a node may find its cycle due (draining) right after a start; a reset or cooldown needs it idle.
    check(
      runtime.cycle?.step !== 'resetting' && runtime.cycle?.step !== 'cooling',
      'no start inside a node’s own reset or cooldown',
      () => `${this.sweep}: ${decision.job.job_id} sent to ${node} in its ${runtime.cycle?.step}`,
    );
    check(
      !state.between || state.between.step === 'done',
      'no start between batches (reset, cooldown, probes)',
      () => `${this.sweep}: ${decision.job.job_id} sent during ${state.between?.step}`,
    );
    const batch = state.batch!;
    let count = this.batches.get(decision.batch);
    if (!count) {
      count = { total: 0, perNode: new Map(), cap: batch.perNodeCap, maxJobs: state.settings!.max_jobs_per_batch };
      this.batches.set(decision.batch, count);
    }
    const mode = state.plan!.perNodeCap === null ? 'unbatched' : state.plan!.batching.mode;
    if (decision.attempt === 1 && mode === 'barrier') {
      count.total++;
      count.perNode.set(node, (count.perNode.get(node) ?? 0) + 1);
      check(
        count.cap === null || count.perNode.get(node)! <= count.cap,
        'per-node-per-batch cap',
        () => `${this.sweep}: ${node} started ${count.perNode.get(node)} first attempts in batch ${decision.batch}, cap ${count.cap}`,
      );
    }
    if (mode === 'rolling' && !decision.standby) {
      check(
        state.counts.running <= state.settings!.max_jobs_per_batch,
        'rolling: at most max_jobs_per_batch at once',
        () => `${this.sweep}: ${state.counts.running} running, max ${state.settings!.max_jobs_per_batch}`,
      );
      check(
        runtime.cycleStarts <= state.settings!.max_jobs_per_node_per_batch,
        'rolling: a node’s cycle within its cap',
        () => `${this.sweep}: ${node} started ${runtime.cycleStarts} in its cycle, cap ${state.settings!.max_jobs_per_node_per_batch}`,
      );
    }
  }

  /** What the core believes runs: one attempt per job, one per GPU, the node's concurrency. */
  private inFlight(state: SweepState): void {
    const jobs = new Map<string, number>();
    const gpus = new Map<string, number>();
    const perNode = new Map<string, number>();
    for (const work of Object.values(state.work)) {
      if (work.kind !== 'job') continue;
      const job = work;
      jobs.set(job.entry.job.job_id, (jobs.get(job.entry.job.job_id) ?? 0) + 1);
      if (!job.counted) continue;
      gpus.set(`${job.node}#${job.gpu}`, (gpus.get(`${job.node}#${job.gpu}`) ?? 0) + 1);
      perNode.set(job.node, (perNode.get(job.node) ?? 0) + 1);
    }
    for (const [job, copies] of jobs) check(copies <= 1, 'never two live copies of a job', () => `${this.sweep}: ${job} has ${copies} attempts in flight`);
    for (const [gpu, holders] of gpus) check(holders <= 1, 'at most one trial per GPU', () => `${this.sweep}: ${gpu} has ${holders} running attempts`);
    for (const node of state.allNodes) {
      const running = perNode.get(node.name) ?? 0;
      check(running <= node.maxConcurrent, 'node concurrency within its cap', () => `${this.sweep}: ${node.name} runs ${running}, cap ${node.maxConcurrent}`);
    }
    const counted = [...perNode.values()].reduce((a, b) => a + b, 0);
    check(
      counted === state.counts.running,
      'the running count is the attempts that run',
      () => `${this.sweep}: counts.running ${state.counts.running}, attempts holding GPUs ${counted}`,
    );
  }
}

/** What the simulated nodes ran: the same rules on real (simulated) processes. */
export function checkProcesses(cluster: SimCluster, processes: SimProcess[], options: { permits: boolean; maxConcurrent: (node: string) => number }): void {
  const intervals = processes.filter((p) => p.startMs !== undefined).map((p) => ({ p, start: p.startMs!, end: p.endMs ?? Infinity }));
  const overlaps = (a: { start: number; end: number }, b: { start: number; end: number }) => a.start < b.end && b.start < a.end;
  for (let i = 0; i < intervals.length; i++) {
    const a = intervals[i];
    for (let j = i + 1; j < intervals.length; j++) {
      const b = intervals[j];
      if (!overlaps(a, b) || a.p.node !== b.p.node) continue;
      const sameSweep = a.p.sweep === b.p.sweep;
      if (sameSweep)
        check(a.p.jobId !== b.p.jobId, 'never two live copies of a job (on the nodes)', () => `${a.p.sweep}: ${a.p.jobId} ran twice at once on ${a.p.node}`);
      if (sameSweep || options.permits)
        check(
          a.p.gpu !== b.p.gpu,
          'at most one trial per GPU (on the nodes)',
          () => `${a.p.node} GPU ${a.p.gpu}: ${a.p.sweep}/${a.p.jobId} and ${b.p.sweep}/${b.p.jobId} at once`,
        );
    }
  }
  const byNode = new Map<string, typeof intervals>();
  for (const interval of intervals) byNode.set(interval.p.node, [...(byNode.get(interval.p.node) ?? []), interval]);
  for (const [node, list] of byNode) {
    const groups = options.permits ? [list] : [...new Set(list.map((x) => x.p.sweep))].map((sweep) => list.filter((x) => x.p.sweep === sweep));
    for (const group of groups) {
      const points = group
        .flatMap((x) => [
          { t: x.start, d: 1 },
          { t: x.end, d: -1 },
        ])
        .sort((a, b) => a.t - b.t || a.d - b.d);
      let running = 0;
      for (const point of points) {
        running += point.d;
        check(
          running <= options.maxConcurrent(node),
          'node concurrency within its cap (on the nodes)',
          () => `${node}: ${running} trials at once at ${point.t} ms`,
        );
      }
      // Without permits, attempts restarted after a lost worker or link are no decision of the core: the node's permit is what spaces them.
      const starts = group.filter((x) => options.permits || !x.p.restartOf).sort((a, b) => a.start - b.start);
      for (let i = 1; i < starts.length; i++) {
        const gap = starts[i].start - starts[i - 1].start;
        const spacing = starts[i].p.spacingMs - (options.permits ? 0 : DISPATCH_LEAD_MS);
        check(
          gap >= spacing - 1,
          'starts on a node at least its stagger apart (on the nodes)',
          () =>
            `${node}: ${starts[i - 1].p.jobId} at ${starts[i - 1].start} ms, ${starts[i].p.jobId} at ${starts[i].start} ms, spacing ${starts[i].p.spacingMs} ms`,
        );
      }
    }
  }
  void cluster;
}
