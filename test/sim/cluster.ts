/**
 * A simulated cluster for the fast tiers: nodes with GPUs, trial processes, start permits,
 * links that can be cut, and a worker that can crash — everything rigsweep's node-facing
 * activities touch, on a virtual clock. It carries out the core's node-facing decisions the way
 * the real activities and nodes do, and answers with the events they would send:
 *
 * - a job's start command waits on its node for its permit (its GPU, a slot, the spacing since
 *   the node's last start, the quiet window after a reset) — unless the scenario turns permits
 *   off, so that a wrong decision shows; a standby always waits for the job ahead of it;
 * - a trial succeeds, fails, reports an error, hangs until its timeout or leaves stale output;
 * - a cut link: jobs there are restarted when it comes back within their lease, or killed by the
 *   node when the lease runs out (the attempt ends as a lost node); new work waits for the link;
 * - a worker crash: after the heartbeat timeout every attempt is retried, its leftover killed first;
 * - a cancel reaches the work with its next heartbeat and kills its processes.
 *
 * It keeps a log of every process, which the invariants read.
 */
import type { Decision } from '../../src/shared/dispatch/decisions';
import type { SweepEvent } from '../../src/shared/dispatch/events';
import type { Clock } from './clock';
import type { Scenario, SimNode, TrialBehaviour } from './scenario';
import { attemptResult, type SimProcess, type SweepPort } from './sim-process';

interface NodeSim {
  spec: SimNode;
  lastStartMs: number;
  quietUntilMs: number;
  downUntilMs: number;
  downSinceMs: number;
}

const HEARTBEAT_TIMEOUT_MS = 10_000;
const CANCEL_HEARD_MS = 1_000;
export const JOB_TIMEOUT_SECONDS = 60;

export class SimCluster {
  readonly processes: SimProcess[] = [];
  private readonly nodes = new Map<string, NodeSim>();
  /** Per sweep and work id: the live process of a job attempt. */
  private readonly byWork = new Map<string, SimProcess>();
  /** How many attempts of each job each sweep has dispatched (the behaviour list is per attempt). */
  private readonly attemptsSeen = new Map<string, number>();
  private readonly behaviours = new Map<string, TrialBehaviour[]>();

  constructor(
    private readonly scenario: Scenario,
    private readonly clock: Clock,
  ) {
    for (const spec of scenario.nodes) this.nodes.set(spec.name, { spec, lastStartMs: -Infinity, quietUntilMs: 0, downUntilMs: 0, downSinceMs: 0 });
  }

  /** The nodes' clock. */
  get now(): number {
    return this.clock.now;
  }

  /** What the jobs of sweep `sweep` do, by job id. */
  setBehaviours(sweep: string, byJob: Map<string, TrialBehaviour[]>): void {
    for (const [jobId, list] of byJob) this.behaviours.set(`${sweep}/${jobId}`, list);
  }

  /** Carries out one node-facing decision of a sweep. */
  handle(port: SweepPort, decision: Decision): void {
    const now = this.clock.now;
    switch (decision.type) {
      case 'warmUp':
        return this.answer(port, decision.work, 2000, () => ({
          type: 'warmedUp',
          work: decision.work,
          outcome: this.reachable(decision.node.name) ? { ok: true, message: 'warm-up done in 2.0s' } : { ok: false, message: 'warm-up failed: unreachable' },
        }));
      case 'probeNode': {
        const { node, clearHipCache, health } = decision;
        const index = this.scenario.nodes.findIndex((candidate) => candidate.name === node.name);
        const asked = health && Boolean(this.scenario.nodes[index]?.health);
        const healthy = asked ? !this.scenario.unhealthy.includes(index) : null;
        const reachable = this.reachable(node.name);
        return this.answer(port, decision.work, reachable ? (health ? 500 : 200) : 3000, () => {
          if (!this.reachable(node.name))
            return {
              type: 'nodeProbed',
              work: decision.work,
              probe: { node: node.name, reachable: false, latency_ms: null, hip_cache_cleared: null, healthy: null, message: 'unreachable: timed out' },
            };
          const hipCleared = clearHipCache && node.isRocm ? true : null;
          const message = healthy === false ? 'health_command exited 1' : `${healthy ? 'healthy' : 'reachable'} (3 ms)`;
          return {
            type: 'nodeProbed',
            work: decision.work,
            probe: { node: node.name, reachable: true, latency_ms: 3, hip_cache_cleared: hipCleared, healthy, message },
          };
        });
      }
      case 'resetNode': {
        const index = this.scenario.nodes.findIndex((node) => node.name === decision.node.name);
        const fails = this.scenario.failingResets.includes(index);
        return this.answer(port, decision.work, 1000, () => {
          const node = this.nodes.get(decision.node.name)!;
          if (!this.reachable(decision.node.name))
            return { type: 'nodeReset', work: decision.work, outcome: { ok: false, message: 'reset failed: unreachable' } };
          node.quietUntilMs = Math.max(node.quietUntilMs, this.clock.now + decision.cooldownSeconds * 1000);
          return {
            type: 'nodeReset',
            work: decision.work,
            outcome: fails ? { ok: false, message: 'reset failed: sudo: a password is required' } : { ok: true, message: 'caches dropped' },
          };
        });
      }
      case 'startJob':
        return this.dispatch(port, decision, now);
      case 'withdraw':
        this.clock.after(100, () => {
          this.killWaiting(port.id, decision.work);
          if (!port.over()) port.feed({ type: 'told', work: decision.tell });
        });
        return this.cancelJob(port, decision.work);
      case 'cancelWork':
        return this.cancelWork(port, decision.work);
      default:
        return;
    }
  }

  /** Work other than jobs: its answer after `ms`, unless a cancel came first. */
  private readonly pending = new Map<string, { port: SweepPort; fire: () => void }>();

  /** Sweeps whose work ends only by its cancel from now on (the workflow tier, see `freeze`). */
  private readonly frozen = new Set<string>();

  /**
   * From now on the sweep's work ends only when it is cancelled, never by itself. The workflow tier
   * calls it as it cancels a sweep: Temporal's Java test server stalls a workflow task that asks to
   * cancel an activity which completed in the same instant (a real server takes it in its stride).
   */
  freeze(sweep: string): void {
    this.frozen.add(sweep);
  }

  private answer(port: SweepPort, work: number, ms: number, event: () => SweepEvent): void {
    const key = `${port.id}#${work}`;
    const fire = () => {
      if (this.frozen.has(port.id)) return;
      if (!this.pending.delete(key)) return;
      if (!port.over()) port.feed(event());
    };
    this.pending.set(key, { port, fire });
    this.clock.after(ms, fire);
  }

  private cancelWork(port: SweepPort, work: number): void {
    const key = `${port.id}#${work}`;
    if (this.pending.has(key)) {
      this.pending.delete(key);
      this.clock.after(CANCEL_HEARD_MS, () => {
        if (!port.over()) port.feed({ type: 'workCancelled', work });
      });
      return;
    }
    this.cancelJob(port, work);
  }

  /** A cancelled attempt hears of it with its next heartbeat and kills its process group (and its sweep's standbys on that GPU). */
  private cancelJob(port: SweepPort, work: number): void {
    const process = this.byWork.get(`${port.id}#${work}`);
    if (!process) return;
    const node = this.nodes.get(process.node)!;
    const heardAt = this.clock.now + CANCEL_HEARD_MS;
    // A cut-off node cannot be told: its lease watchdog ends the job, and the attempt with it.
    const endsAt = node.downUntilMs > heardAt ? Math.max(heardAt, node.downSinceMs + this.scenario.leaseSeconds * 1000) : heardAt;
    this.clock.at(endsAt, () => {
      const live = this.byWork.get(`${port.id}#${work}`);
      // Gone from the map: the attempt ended with a result of its own before the cancel was heard.
      if (!live) return;
      for (const standby of this.processes.filter(
        (other) => other.sweep === live.sweep && other.node === live.node && other.gpu === live.gpu && other.state === 'waiting' && other !== live,
      )) {
        if (live.state === 'running') this.killWaitingStandby(standby);
      }
      this.kill(live);
      this.byWork.delete(`${port.id}#${work}`);
      if (!port.over()) port.feed({ type: 'workCancelled', work });
    });
  }

  /**
   * A cancelled running job first kills its sweep's commands still waiting for its GPU. One that
   * was not cancelled itself (a job started again after a lost worker, waiting behind a standby)
   * ends as the real activity ends then: it did not get its start permit.
   */
  private killWaitingStandby(standby: SimProcess): void {
    standby.state = 'killed';
    standby.endMs = this.clock.now;
    const port = this.ports.get(standby.sweep)!;
    const key = `${standby.sweep}#${standby.work}`;
    this.clock.after(5000, () => {
      if (this.byWork.get(key) !== standby) return;
      this.byWork.delete(key);
      if (port.over()) return;
      const failed = {
        ...attemptResult(standby, { kind: 'ok', seconds: 0 }, this.clock.now),
        success: false,
        failure_mode: 'EXECUTION_ERROR' as const,
        exit_code: null,
        error: 'the job ended before it got its start permit on the node',
      };
      port.feed({ type: 'jobEnded', work: standby.work, result: failed });
    });
  }

  private dispatch(port: SweepPort, decision: Extract<Decision, { type: 'startJob' }>, now: number): void {
    const key = `${port.id}/${decision.job.job_id}`;
    const seen = (this.attemptsSeen.get(key) ?? 0) + 1;
    this.attemptsSeen.set(key, seen);
    const behind = decision.standby ? this.holderOf(port.id, decision.node.name, decision.gpu) : undefined;
    const process: SimProcess = {
      sweep: port.id,
      work: decision.work,
      jobId: decision.job.job_id,
      node: decision.node.name,
      gpu: decision.gpu,
      attempt: decision.attempt,
      batch: decision.batch,
      spacingMs: decision.spacingSeconds * 1000,
      retryWindowMs: decision.timeouts.retryWindowSeconds * 1000,
      reportStart: decision.reportStart,
      ...(behind ? { behind } : {}),
      state: 'waiting',
      arrivedMs: now,
    };
    this.byWork.set(`${port.id}#${decision.work}`, process);
    this.whenReachable(port, process, now);
  }

  /** The start command reaches its node once the link is up; an activity that cannot connect for its retry window fails. */
  private whenReachable(port: SweepPort, process: SimProcess, from: number): void {
    const node = this.nodes.get(process.node)!;
    if (node.downUntilMs <= from) {
      process.arrivedMs = from;
      this.processes.push(process);
      this.clock.at(from, () => this.tryStart(process.node));
      return;
    }
    if (node.downUntilMs - from > process.retryWindowMs) {
      this.clock.at(from + process.retryWindowMs, () => {
        if (this.byWork.get(`${port.id}#${process.work}`) !== process) return;
        this.byWork.delete(`${port.id}#${process.work}`);
        if (!port.over()) port.feed({ type: 'jobFailed', work: process.work, errorType: 'SshConnectError', message: `${process.node}: cannot connect` });
      });
      return;
    }
    this.clock.at(node.downUntilMs, () => {
      if (this.byWork.get(`${port.id}#${process.work}`) === process && process.state === 'waiting') this.whenReachable(port, process, this.clock.now);
    });
  }

  private ports = new Map<string, SweepPort>();

  register(port: SweepPort): void {
    this.ports.set(port.id, port);
  }

  /** Starts whatever may start on the node now, in arrival order. */
  private tryStart(name: string): void {
    const node = this.nodes.get(name)!;
    const now = this.clock.now;
    if (node.downUntilMs > now) return;
    let retryAt = Infinity;
    for (const process of this.processes.filter((p) => p.node === name && p.state === 'waiting').sort((a, b) => a.arrivedMs - b.arrivedMs)) {
      // The GPU's lock among a sweep's own attempts: a standby waits for the job ahead of it.
      if (
        this.processes.some(
          (p) =>
            p !== process && p.sweep === process.sweep && p.node === name && p.gpu === process.gpu && p.arrivedMs <= process.arrivedMs && p.state === 'running',
        )
      )
        continue;
      if (process.behind && (process.behind.state === 'running' || process.behind.state === 'waiting')) continue;
      if (this.scenario.permits) {
        const running = this.processes.filter((p) => p.node === name && p.state === 'running');
        if (running.some((p) => p.gpu === process.gpu) || running.length >= node.spec.maxConcurrent) continue;
        const allowedAt = Math.max(node.lastStartMs + process.spacingMs, node.quietUntilMs);
        if (now < allowedAt) {
          retryAt = Math.min(retryAt, allowedAt);
          continue;
        }
      }
      this.start(process);
    }
    if (retryAt < Infinity) this.clock.at(retryAt, () => this.tryStart(name));
  }

  private holderOf(sweep: string, node: string, gpu: number): SimProcess | undefined {
    return this.processes.find((p) => p.sweep === sweep && p.node === node && p.gpu === gpu && (p.state === 'running' || p.state === 'waiting'));
  }

  private start(process: SimProcess): void {
    const node = this.nodes.get(process.node)!;
    const port = this.ports.get(process.sweep)!;
    const now = this.clock.now;
    process.state = 'running';
    process.startMs = now;
    node.lastStartMs = now;
    if (process.reportStart) {
      this.clock.after(50, () => {
        if (process.state === 'running' && this.byWork.get(`${port.id}#${process.work}`) === process && !port.over())
          port.feed({ type: 'jobStarted', work: process.work, startedAtMs: now });
      });
    }
    const behaviour = this.behaviourOf(process);
    const seconds = behaviour.kind === 'hang' ? JOB_TIMEOUT_SECONDS : behaviour.seconds;
    this.clock.after(seconds * 1000, () => this.finish(process, behaviour));
  }

  private behaviourOf(process: SimProcess): TrialBehaviour {
    const list = this.behaviours.get(`${process.sweep}/${process.jobId}`) ?? [{ kind: 'ok', seconds: 1 }];
    return list[Math.min(process.attempt, list.length) - 1];
  }

  private finish(process: SimProcess, behaviour: TrialBehaviour): void {
    if (process.state !== 'running' || this.frozen.has(process.sweep)) return;
    process.state = 'ended';
    process.endMs = this.clock.now;
    const port = this.ports.get(process.sweep)!;
    const key = `${port.id}#${process.work}`;
    const live = this.byWork.get(key) === process;
    this.tryStart(process.node);
    if (!live) return;
    this.byWork.delete(key);
    if (!port.over()) port.feed({ type: 'jobEnded', work: process.work, result: attemptResult(process, behaviour, this.clock.now) });
  }

  private kill(process: SimProcess): void {
    if (process.state === 'ended' || process.state === 'killed') return;
    process.state = 'killed';
    process.endMs = this.clock.now;
    this.tryStart(process.node);
  }

  /** A withdrawn standby's node is told: its command, if it still waits, is killed there. */
  killWaiting(sweep: string, work: number): void {
    const process = this.byWork.get(`${sweep}#${work}`);
    if (process?.state === 'waiting') this.kill(process);
  }

  reachable(name: string): boolean {
    return this.nodes.get(name)!.downUntilMs <= this.clock.now;
  }

  /**
   * The node's link is down for `seconds`. Its jobs are restarted when it is back within their
   * lease (the activity's retry kills the leftover first), or killed by the node when the lease
   * runs out, their attempts ending as lost.
   */
  cut(name: string, seconds: number): void {
    const node = this.nodes.get(name);
    if (!node) return;
    const now = this.clock.now;
    node.downSinceMs = now;
    node.downUntilMs = Math.max(node.downUntilMs, now + seconds * 1000);
    const leaseMs = this.scenario.leaseSeconds * 1000;
    for (const process of this.processes.filter((p) => p.node === name && (p.state === 'running' || p.state === 'waiting'))) {
      const port = this.ports.get(process.sweep)!;
      if (seconds * 1000 < leaseMs) {
        this.clock.at(node.downUntilMs, () => this.restart(port, process));
        continue;
      }
      this.clock.at(now + leaseMs, () => {
        if (process.state === 'ended' || process.state === 'killed') return;
        this.kill(process);
        const key = `${port.id}#${process.work}`;
        if (this.byWork.get(key) !== process) return;
        this.byWork.delete(key);
        if (!port.over()) port.feed({ type: 'jobEnded', work: process.work, result: attemptResult(process, { kind: 'ok', seconds: 0 }, this.clock.now, true) });
      });
    }
    this.clock.at(node.downUntilMs, () => this.tryStart(name));
  }

  /** The worker is lost: after the heartbeat timeout every attempt is retried, each leftover killed first. */
  crash(): void {
    for (const process of this.processes.filter((p) => p.state === 'running' || p.state === 'waiting')) {
      const port = this.ports.get(process.sweep)!;
      this.clock.after(HEARTBEAT_TIMEOUT_MS, () => this.restart(port, process));
    }
  }

  private restart(port: SweepPort, process: SimProcess): void {
    const key = `${port.id}#${process.work}`;
    if (this.byWork.get(key) !== process || process.state === 'ended' || process.state === 'killed') return;
    this.kill(process);
    const again: SimProcess = { ...process, state: 'waiting', startMs: undefined, endMs: undefined, restartOf: process, arrivedMs: this.clock.now };
    this.byWork.set(key, again);
    this.whenReachable(port, again, this.clock.now);
  }

  /** Processes still running or waiting on any node. */
  live(sweep?: string): SimProcess[] {
    return this.processes.filter((p) => (p.state === 'running' || p.state === 'waiting') && (sweep === undefined || p.sweep === sweep));
  }
}
