/**
 * The simulated nodes of the fast tiers: GPUs, trial processes, start permits and links that can
 * be cut, on a virtual clock — what rigsweep's node-facing work acts on. `SimCluster`
 * (cluster.ts) carries out the core's decisions on them.
 *
 * - a job's start command waits on its node for its permit (its GPU, a slot, the spacing since
 *   the node's last start, the quiet window after a reset) — unless the scenario turns permits
 *   off, so that a wrong decision shows; a standby always waits for the job ahead of it;
 * - a trial succeeds, fails, reports an error, hangs until its timeout or leaves stale output;
 * - a cut link: jobs there are restarted when it comes back within their lease, or killed by the
 *   node when the lease runs out (the attempt ends as a lost node); new work waits for the link;
 * - a worker crash: after the heartbeat timeout every attempt is retried, its leftover killed first.
 *
 * It keeps a log of every process, which the invariants read.
 */
import type { Clock } from './clock';
import type { Scenario, SimNode, TrialBehaviour } from './scenario';
import { attemptResult, type SimProcess, type SweepPort } from './sim-process';

export interface NodeSim {
  spec: SimNode;
  lastStartMs: number;
  quietUntilMs: number;
  downUntilMs: number;
  downSinceMs: number;
}

const HEARTBEAT_TIMEOUT_MS = 10_000;
export const JOB_TIMEOUT_SECONDS = 60;

export class SimNodes {
  readonly processes: SimProcess[] = [];
  protected readonly nodes = new Map<string, NodeSim>();
  /** Per sweep and work id: the live process of a job attempt. */
  protected readonly byWork = new Map<string, SimProcess>();
  /** How many attempts of each job each sweep has dispatched (the behaviour list is per attempt). */
  protected readonly attemptsSeen = new Map<string, number>();
  protected readonly behaviours = new Map<string, TrialBehaviour[]>();

  protected readonly ports = new Map<string, SweepPort>();
  /** Sweeps whose work ends only by its cancel from now on (the workflow tier, see `freeze`). */
  protected readonly frozen = new Set<string>();

  constructor(
    protected readonly scenario: Scenario,
    protected readonly clock: Clock,
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

  register(port: SweepPort): void {
    this.ports.set(port.id, port);
  }

  /** The start command reaches its node once the link is up; an activity that cannot connect for its retry window fails. */
  protected whenReachable(port: SweepPort, process: SimProcess, from: number): void {
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

  /** Starts whatever may start on the node now, in arrival order. */
  protected tryStart(name: string): void {
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

  protected holderOf(sweep: string, node: string, gpu: number): SimProcess | undefined {
    return this.processes.find((p) => p.sweep === sweep && p.node === node && p.gpu === gpu && (p.state === 'running' || p.state === 'waiting'));
  }

  protected start(process: SimProcess): void {
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

  protected behaviourOf(process: SimProcess): TrialBehaviour {
    const list = this.behaviours.get(`${process.sweep}/${process.jobId}`) ?? [{ kind: 'ok', seconds: 1 }];
    return list[Math.min(process.attempt, list.length) - 1];
  }

  protected finish(process: SimProcess, behaviour: TrialBehaviour): void {
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

  protected kill(process: SimProcess): void {
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

  protected restart(port: SweepPort, process: SimProcess): void {
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
