/**
 * The workflow tier's activities: the real bookkeeping (planning from a real config, jobs, job
 * records, Results JSON and manifest in a temporary run folder) and, for everything that touches a
 * node, the simulated cluster — a job's activity waits for its simulated process, reports its
 * start with the real `jobStarted` signal, hears a cancel with its heartbeat and ends as the real
 * one would: with a result, a failure, or cancelled.
 */
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { createActivities, type SweepActivities } from '../../src/activities/create-activities';
import type { RunJobInput } from '../../src/activities/run-job';
import type { Decision } from '../../src/shared/dispatch/decisions';
import type { NodeOutcome, SweepEvent } from '../../src/shared/dispatch/events';
import { jobStartedSignal } from '../../src/shared/names';
import type { SweepNode } from '../../src/shared/nodes';
import type { NodeProbe } from '../../src/shared/results';
import type { SimCluster } from './cluster';
import type { SweepPort } from './sim-process';

interface Waiting {
  resolve(value: unknown): void;
  reject(error: unknown): void;
  startKey?: string;
  /** A time on the simulated nodes' clock as the workflow's clock tells it (see onNode). */
  onWorkflowClock(simulatedMs: number): number;
}

/** A sweep's side of the simulated cluster: events for its works settle the activities that wait for them. */
class ActivityPort implements SweepPort {
  private readonly waiting = new Map<number, Waiting>();
  private nextId = -1;

  constructor(
    readonly id: string,
    private readonly client: Client,
  ) {}

  over(): boolean {
    return false;
  }

  /** Ids for work other than jobs: negative, never a job's (the core's work id, its startKey). */
  freshId(): number {
    return this.nextId--;
  }

  wait(work: number, waiting: Waiting): void {
    // A new execution of the same work (Temporal retried it after a timeout): the old one's
    // server side is gone, so it ends here rather than hold a worker slot for ever.
    this.waiting.get(work)?.reject(new CancelledFailure('superseded by a retry of the same work'));
    this.waiting.set(work, waiting);
  }

  /** Ends a waiting activity that nothing will answer, if it still waits. */
  forget(work: number, waiting: Waiting, why: Error): void {
    if (this.waiting.get(work) !== waiting) return;
    this.waiting.delete(work);
    waiting.reject(why);
  }

  /** Activities of this sweep still waiting for the cluster: in the report of a sweep that does not end. */
  waitingWork(): number[] {
    return [...this.waiting.keys()];
  }

  feed(event: SweepEvent): void {
    if (!('work' in event)) return;
    const waiting = this.waiting.get(event.work);
    if (!waiting) return;
    if (event.type === 'jobStarted') {
      void this.client.workflow
        .getHandle(this.id)
        .signal(jobStartedSignal, { startKey: waiting.startKey!, startedAtMs: waiting.onWorkflowClock(event.startedAtMs) })
        .catch(() => undefined);
      return;
    }
    this.waiting.delete(event.work);
    switch (event.type) {
      case 'jobEnded':
        return waiting.resolve(event.result);
      case 'jobFailed':
        return waiting.reject(ApplicationFailure.nonRetryable(event.message, event.errorType ?? 'SimulatedFailure'));
      case 'workCancelled':
        return waiting.reject(new CancelledFailure('cancelled; its process group was killed'));
      case 'nodeProbed':
        return waiting.resolve(event.probe);
      case 'warmedUp':
      case 'nodeReset':
        return waiting.resolve(event.outcome);
      default:
        return waiting.resolve(undefined);
    }
  }
}

export interface SimActivityOptions {
  /** The simulated cluster a sweep runs on, by its workflow id. */
  clusterOf(workflowId: string): SimCluster;
  client: Client;
  /** The worker's `--config` and working directory: sweeps here name their own config file, absolute. */
  configFile: string;
  cwd: string;
  /** Receives a way to ask which of a sweep's works still have an activity waiting (for the report of a stuck sweep). */
  onWaitingWork?(ask: (workflowId: string) => number[]): void;
  /** Heartbeats of a waiting activity, in real ms: how soon it hears of a cancel. */
  heartbeatMs?: number;
}

/** The one full worker of the workflow tier: every sweep's results host. */
export const SIM_WORKER_NAME = 'sim-host';

export function createSimActivities(options: SimActivityOptions): SweepActivities {
  const ports = new Map<string, ActivityPort>();
  const portOf = (workflowId: string) => {
    let port = ports.get(workflowId);
    if (!port) {
      port = new ActivityPort(workflowId, options.client);
      ports.set(workflowId, port);
      options.clusterOf(workflowId).register(port);
    }
    return port;
  };
  const real = createActivities({
    defaultConfigFile: options.configFile,
    cwd: options.cwd,
    workerName: SIM_WORKER_NAME,
    shellFor: () => {
      throw new Error('the workflow tier simulates every node');
    },
    reportStarted: () => Promise.resolve(),
  });

  /** Hands a decision to the cluster and waits, heartbeating, for the event that settles it. */
  function onNode<T>(decision: (work: number) => Decision, work?: number, startKey?: string): Promise<T> {
    const context = Context.current();
    const workflowId = context.info.workflowExecution!.workflowId;
    const port = portOf(workflowId);
    const cluster = options.clusterOf(workflowId);
    const id = work ?? port.freshId();
    return new Promise<T>((resolve, reject) => {
      const heartbeat = setInterval(() => context.heartbeat(), options.heartbeatMs ?? 100);
      const settle = (value: unknown, failed: boolean) => {
        clearInterval(heartbeat);
        if (failed) reject(value instanceof Error ? value : new Error(String(value)));
        else resolve(value as T);
      };
      // The nodes keep simulated time; the workflow keeps the test server's. A start is reported
      // on the workflow's clock: when this attempt was scheduled, plus how long the node held it.
      const scheduledMs = context.info.currentAttemptScheduledTimestampMs;
      const handedAt = cluster.now;
      const waiting: Waiting = {
        resolve: (value) => settle(value, false),
        reject: (error) => settle(error, true),
        startKey,
        onWorkflowClock: (simulatedMs) => scheduledMs + (simulatedMs - handedAt),
      };
      port.wait(id, waiting);
      context.cancelled.catch(() => {
        cluster.handle(port, { type: 'cancelWork', work: id });
        // The cluster answers a cancel within simulated seconds (real milliseconds). Work it no
        // longer holds (withdrawn and killed, or its node gave up on it) gets no answer: the real
        // activity would end cancelled all the same, so this one does too, rather than hold a
        // worker slot for the rest of the run.
        setTimeout(() => port.forget(id, waiting, new CancelledFailure('cancelled; nothing of it was left on its node')), 2000).unref();
      });
      cluster.handle(port, decision(id));
    });
  }

  options.onWaitingWork?.((workflowId) => ports.get(workflowId)?.waitingWork() ?? []);
  return {
    ...real,
    async runJob(input: RunJobInput) {
      const work = Number(input.startKey);
      // The timeouts the workflow scheduled this activity with: its startJob decision's.
      const { startToCloseTimeoutMs, scheduleToCloseTimeoutMs } = Context.current().info;
      return onNode(
        (id) => ({
          type: 'startJob',
          work: id,
          job: input.job,
          node: input.node,
          gpu: input.gpu,
          attempt: input.attempt,
          batch: input.batch,
          spacingSeconds: input.spacingSeconds ?? 0,
          reportStart: input.reportStart ?? (input.spacingSeconds ?? 0) > 0,
          standby: false,
          timeouts: {
            startToCloseSeconds: startToCloseTimeoutMs / 1000,
            scheduleToCloseSeconds: scheduleToCloseTimeoutMs / 1000,
            retryWindowSeconds: (scheduleToCloseTimeoutMs - startToCloseTimeoutMs) / 1000,
          },
          summary: '',
        }),
        work,
        input.startKey,
      );
    },
    async warmupGpu(input: { node: SweepNode; gpu: number; runId: string; timeoutSeconds: number }) {
      const startToCloseSeconds = Context.current().info.startToCloseTimeoutMs / 1000;
      const outcome = await onNode<NodeOutcome>((work) => ({
        type: 'warmUp',
        work,
        node: input.node,
        gpu: input.gpu,
        timeoutSeconds: input.timeoutSeconds,
        startToCloseSeconds,
      }));
      return { node: input.node.name, gpu: input.gpu, seconds: 2, ...outcome };
    },
    async probeNode(input: { node: SweepNode; clearHipCache?: boolean; health?: boolean }): Promise<NodeProbe> {
      return onNode((work) => ({
        type: 'probeNode',
        work,
        node: input.node,
        clearHipCache: input.clearHipCache ?? false,
        health: input.health ?? false,
        lost: false,
        summary: '',
      }));
    },
    async resetNode(node: SweepNode, cooldownSeconds = 0) {
      return { node: node.name, ...(await onNode<NodeOutcome>((work) => ({ type: 'resetNode', work, node, cooldownSeconds, summary: '' }))) };
    },
    withdrawWaitingJob(input: { node: SweepNode; gpu: number; sweepId?: string; jobId: string }): Promise<void> {
      const workflowId = Context.current().info.workflowExecution!.workflowId;
      const port = portOf(workflowId);
      const cluster = options.clusterOf(workflowId);
      const standby = Number([...cluster.live(port.id)].find((p) => p.jobId === input.jobId && p.gpu === input.gpu)?.work ?? NaN);
      if (Number.isFinite(standby)) cluster.killWaiting(port.id, standby);
      return Promise.resolve();
    },
  };
}
