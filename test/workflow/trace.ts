/**
 * What the dispatcher core heard and decided inside the real workflow, read back from a sweep's
 * histories: each run is replayed with a bundle whose core reports every step to a sink
 * (traced-core.ts). The steps are those the workflow took, on the workflow's own clock, so the
 * oracle can judge them exactly as it judges the core tier's.
 */
import { resolve } from 'node:path';
import type { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, Worker, type InjectedSinks, type WorkflowBundle } from '@temporalio/worker';
import webpack from 'webpack';
import { RESULTS_HOST_CHECK } from '../../src/workflows/results-host-watch';
import type { Decision } from '../../src/shared/dispatch/decisions';
import type { SweepEvent } from '../../src/shared/dispatch/events';
import type { SweepOracle } from '../sim/oracle';
import { SIM_WORKER_NAME } from '../sim/sim-activities';
import type { TraceSinks } from './traced-core';

export interface TracedStep {
  event: SweepEvent;
  now: number;
  decisions: Decision[];
  /** The running count users see after the step. */
  running: number;
  /** The workflow task the step was taken in (the history's length when it began). */
  task: number;
}

type History = temporal.api.history.v1.IHistory;

const ROOT = resolve(__dirname, '..', '..');
const TRACED_CORE = resolve(__dirname, 'traced-core.ts');

/** The production workflow bundle with the driver's core swapped for the traced one. */
export function bundleTraced(logger: Parameters<typeof bundleWorkflowCode>[0]['logger']): Promise<WorkflowBundle> {
  return bundleWorkflowCode({
    workflowsPath: resolve(ROOT, 'src', 'workflows', 'index.ts'),
    logger,
    webpackConfigHook: (config) => {
      const swap = new webpack.NormalModuleReplacementPlugin(/\/shared\/dispatch\/core$/, (resource: { context: string; request: string }) => {
        if (resource.context === resolve(ROOT, 'src', 'workflows')) resource.request = TRACED_CORE;
      });
      return { ...config, plugins: [...(config.plugins ?? []), swap] };
    },
  });
}

interface Replaying {
  steps: TracedStep[];
  done: (error?: Error) => void;
}

/**
 * Replays runs with the traced bundle (checking each is deterministic, as any replay does) and
 * returns the core's steps in each. One replay worker serves the whole tier: histories are fed to
 * it as sweeps end, and starting a replay worker costs more than replaying a small sweep.
 */
export class TracedReplayer {
  private readonly fed: { workflowId: string; history: History }[] = [];
  private readonly replaying = new Map<string, Replaying>();
  private wake: () => void = () => undefined;
  private closed = false;
  private broken: Error | undefined;
  private readonly loop: Promise<void>;

  constructor(bundle: WorkflowBundle) {
    const sinks: InjectedSinks<TraceSinks> = {
      trace: {
        step: {
          fn: (info, event, now, decisions, running) => {
            this.replaying.get(info.workflowId)!.steps.push({ event, now, decisions, running, task: info.historyLength });
          },
          callDuringReplay: true,
        },
      },
    };
    this.loop = (async () => {
      for await (const result of Worker.runReplayHistories({ workflowBundle: bundle, replayName: 'workflow tier', sinks }, this.histories())) {
        const replaying = this.replaying.get(result.workflowId)!;
        this.replaying.delete(result.workflowId);
        replaying.done(result.error && new Error(`${result.workflowId}: the replay failed: ${result.error.message}`, { cause: result.error }));
      }
    })().catch((error: unknown) => {
      // The replay worker itself failed: every replay waiting, and every later one, fails with it.
      this.broken = new Error(`the replay worker failed: ${String(error)}`, { cause: error });
      for (const replaying of this.replaying.values()) replaying.done(this.broken);
      this.replaying.clear();
    });
  }

  /** Each run's steps by its name; rejects when any run does not replay. */
  async replay(runs: { name: string; history: History }[]): Promise<Map<string, TracedStep[]>> {
    if (this.broken) throw this.broken;
    const replayed = runs.map(
      ({ name, history }) =>
        new Promise<[string, TracedStep[]]>((resolve, reject) => {
          const steps: TracedStep[] = [];
          this.replaying.set(name, { steps, done: (error) => (error ? reject(error) : resolve([name, steps])) });
          this.fed.push({ workflowId: name, history });
        }),
    );
    this.wake();
    return new Map(await Promise.all(replayed));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wake();
    await this.loop;
  }

  private async *histories(): AsyncGenerator<{ workflowId: string; history: History }> {
    for (;;) {
      const next = this.fed.shift();
      if (next) yield next;
      else if (this.closed) return;
      else await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }
}

/** A duration from the history, in ms. */
const msOf = (duration: { seconds?: unknown; nanos?: number | null } | null | undefined) =>
  Number(duration?.seconds ?? 0) * 1000 + Math.round((duration?.nanos ?? 0) / 1e6);

/**
 * Where work must run: a localhost node is the results host's own GPUs and the run folder is on
 * its disk, so both go to its queue; a rig is reached from any worker, through the shared queue.
 */
const RESULTS_HOST = 'on the results host';
const ANY_WORKER = 'on any worker';
const placeOf = (node: { isLocal: boolean }) => (node.isLocal ? RESULTS_HOST : ANY_WORKER);

/** What a work decision asks the driver to schedule, in the words both it and the history can be read in. */
function askedFor(decision: Decision, now: number): string | undefined {
  const what = askedWork(decision, now);
  if (what === undefined || decision.type === 'wakeAt') return what;
  return `${what} ${'node' in decision && typeof decision.node === 'object' ? placeOf(decision.node) : RESULTS_HOST}`;
}

function askedWork(decision: Decision, now: number): string | undefined {
  switch (decision.type) {
    case 'startJob': {
      const { work, node, gpu, job, attempt, batch, timeouts } = decision;
      return `runJob key ${work} on ${node.name} GPU ${gpu}: ${job.job_id} attempt ${attempt} batch ${batch}, within ${timeouts.startToCloseSeconds * 1000}/${timeouts.scheduleToCloseSeconds * 1000} ms`;
    }
    case 'probeNode':
      return `probeNode ${decision.node.name} clear ${decision.clearHipCache} health ${decision.health}`;
    case 'resetNode':
      return `resetNode ${decision.node.name} cooldown ${decision.cooldownSeconds}`;
    case 'warmUp':
      return `warmupGpu ${decision.node.name} GPU ${decision.gpu} within ${decision.startToCloseSeconds * 1000} ms`;
    case 'withdraw':
      return `withdrawWaitingJob ${decision.node.name} GPU ${decision.gpu} ${decision.jobId}`;
    case 'loadJobs':
      return `loadBatchJobs ${decision.start}-${decision.end}`;
    case 'record':
      return `recordJobResults ${decision.results.map((result) => result.job_id).join(',')}`;
    case 'wakeAt':
      return decision.at > now ? `timer ${decision.at - now} ms` : undefined;
    default:
      return undefined;
  }
}

/** The fields of an activity's first argument that the words name (each activity has some of them). */
interface ScheduledInput {
  startKey: string;
  node: { name: string };
  name: string;
  gpu: number;
  job: { job_id: string };
  attempt: number;
  batch: number;
  clearHipCache: boolean;
  health: boolean;
  jobId: string;
  start: number;
  end: number;
  results: { job_id: string }[];
}

/** The summary the workflow gave a timer or activity, as its history keeps it. */
function summaryOf(event: temporal.api.history.v1.IHistoryEvent): string | undefined {
  const data = event.userMetadata?.summary?.data;
  return data ? (JSON.parse(Buffer.from(data).toString('utf8')) as string) : undefined;
}

/** The same words, read from an activity or timer the history says the workflow scheduled. */
function scheduled(event: temporal.api.history.v1.IHistoryEvent): string | undefined {
  const timer = event.timerStartedEventAttributes;
  // The driver's own watch on its results host (results-host-watch.ts): no core decision asks for it.
  if (timer && summaryOf(event) === RESULTS_HOST_CHECK) return undefined;
  if (timer) return `timer ${msOf(timer.startToFireTimeout)} ms`;
  const activity = event.activityTaskScheduledEventAttributes;
  if (!activity) return undefined;
  const work = scheduledWork(activity);
  // Every sweep of the tier names no results host: its one full worker, SIM_WORKER_NAME, plans it and becomes it.
  const place = activity.taskQueue?.name?.endsWith(`@${SIM_WORKER_NAME}`) ? RESULTS_HOST : ANY_WORKER;
  return work === undefined ? undefined : `${work} ${place}`;
}

function scheduledWork(activity: temporal.api.history.v1.IActivityTaskScheduledEventAttributes): string | undefined {
  const args = (activity.input?.payloads ?? []).map((payload) => JSON.parse(Buffer.from(payload.data ?? []).toString('utf8')) as unknown);
  const input = args[0] as ScheduledInput;
  switch (activity.activityType?.name) {
    case 'runJob':
      return `runJob key ${input.startKey} on ${input.node.name} GPU ${input.gpu}: ${input.job.job_id} attempt ${input.attempt} batch ${input.batch}, within ${msOf(activity.startToCloseTimeout)}/${msOf(activity.scheduleToCloseTimeout)} ms`;
    case 'probeNode':
      return `probeNode ${input.node.name} clear ${input.clearHipCache} health ${input.health}`;
    case 'resetNode':
      return `resetNode ${input.name} cooldown ${Number(args[1])}`;
    case 'warmupGpu':
      return `warmupGpu ${input.node.name} GPU ${input.gpu} within ${msOf(activity.startToCloseTimeout)} ms`;
    case 'withdrawWaitingJob':
      return `withdrawWaitingJob ${input.node.name} GPU ${input.gpu} ${input.jobId}`;
    case 'loadBatchJobs':
      return `loadBatchJobs ${input.start}-${input.end}`;
    case 'recordJobResults':
      return `recordJobResults ${input.results.map((result) => result.job_id).join(',')}`;
    default:
      return undefined;
  }
}

/**
 * Did the driver carry out what its core decided in this run, neither more nor less? Every
 * decision that asks for an activity or a timer against what the run's history scheduled, with
 * the inputs and timeouts the decision gave. Returns the differences, none when it did.
 */
export function notCarriedOut(steps: TracedStep[], history: History): string[] {
  // Work cancelled in the workflow task that asked for it never reaches the history: the SDK
  // drops an activity scheduled and cancelled in one activation, commands and all.
  const cancelledAt = new Set(
    steps.flatMap((step) => step.decisions.flatMap((decision) => (decision.type === 'cancelWork' ? [`${step.task}/${decision.work}`] : []))),
  );
  const cancelledAtOnce = (step: TracedStep, decision: Decision) => 'work' in decision && cancelledAt.has(`${step.task}/${decision.work}`);
  const asked: string[] = [];
  const mayBeDropped: string[] = [];
  for (const step of steps)
    for (const decision of step.decisions) {
      const what = askedFor(decision, step.now);
      if (what !== undefined) (cancelledAtOnce(step, decision) ? mayBeDropped : asked).push(what);
    }
  const done = (history.events ?? []).map(scheduled).filter((what) => what !== undefined);
  const left = [...done];
  const missing: string[] = [];
  for (const what of asked) {
    const at = left.indexOf(what);
    if (at < 0) missing.push(`decided, never scheduled: ${what}`);
    else left.splice(at, 1);
  }
  for (const what of mayBeDropped) {
    const at = left.indexOf(what);
    if (at >= 0) left.splice(at, 1);
  }
  return [...missing, ...left.map((what) => `scheduled, never decided: ${what}`)];
}

/**
 * Starts decided when a timer fired, on a staggered node, within a second of the moment the
 * stagger allowed them: the workflow waited for the stagger with a timer of its own.
 */
export function startsOnStaggerTimers(steps: TracedStep[], oracle: Pick<SweepOracle, 'staggerOf'>): number {
  const nodeOf = new Map<number, string>();
  const lastStart = new Map<string, number>();
  let count = 0;
  for (const { event, now, decisions } of steps) {
    if (event.type === 'jobStarted' && nodeOf.has(event.work)) {
      const node = nodeOf.get(event.work)!;
      lastStart.set(node, Math.max(lastStart.get(node) ?? -Infinity, event.startedAtMs));
    }
    for (const decision of decisions) {
      if (decision.type !== 'startJob') continue;
      nodeOf.set(decision.work, decision.node.name);
      const stagger = oracle.staggerOf(decision.work);
      const last = lastStart.get(decision.node.name);
      if (event.type === 'timerFired' && stagger >= 1000 && last !== undefined && now - last < stagger + 1000) count++;
    }
  }
  return count;
}
