/**
 * A simulated cluster for the fast tiers: it carries out the core's node-facing decisions on the
 * simulated nodes (sim-nodes.ts) the way the real activities do, and answers with the events they
 * would send. A cancel reaches the work with its next heartbeat and kills its processes.
 */
import type { Decision } from '../../src/shared/dispatch/decisions';
import type { SweepEvent } from '../../src/shared/dispatch/events';
import { SimNodes } from './sim-nodes';
import { attemptResult, type SimProcess, type SweepPort } from './sim-process';

const CANCEL_HEARD_MS = 1_000;

export class SimCluster extends SimNodes {
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
}
