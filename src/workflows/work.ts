/**
 * The driver's hands: each decision of the core that asks for work becomes an activity (or a
 * timer), and its outcome — a value, a failure, or the end of a cancel the core asked for —
 * becomes the event the core waits for. Work on a node runs in a scope of its own, so the core
 * alone decides what is cancelled; bookkeeping that fails fails the sweep.
 */
import { ActivityFailure, ApplicationFailure, CancellationScope, isCancellation, sleep } from '@temporalio/workflow';
import type { Decision } from '../shared/dispatch/decisions';
import type { SweepEvent } from '../shared/dispatch/events';
import type { SweepState } from '../shared/dispatch/state';
import type { AttemptResult } from '../shared/results';
import type { SweepInput } from '../shared/sweep-input';
import { bookkeeping, nodeUpkeep, outputCopies, trialRuns, upkeep } from './activity-proxies';
import type { ResultsHostWatch } from './results-host-watch';
import { filesQueue, nodeQueue, planningQueue } from './routing';

/** What the hands report to: the core's next event, or a failure that ends the sweep. */
export interface WorkOutcomes {
  feed(event: SweepEvent): void;
  fail(error: unknown): void;
}

type WorkDecision = Exclude<Decision, { type: 'publish' | 'coolingDown' | 'requeue' | 'batchOver' | 'continueAsNew' | 'sweepOver' | 'failSweep' }>;

export class Hands {
  /** Work on nodes by id: the scope a cancel of the core's reaches it through. */
  private readonly scopes = new Map<number, CancellationScope>();
  /** Outputs the results host is fetching from nodes. */
  private readonly fetches = new Set<Promise<string>>();

  constructor(
    private readonly input: SweepInput,
    private readonly state: () => SweepState,
    private readonly sweepId: string,
    private readonly outcomes: WorkOutcomes,
    private readonly resultsHost: ResultsHostWatch,
  ) {}

  /** Starts what `decision` asks for; never waits for it. */
  carryOut(decision: WorkDecision, now: number): void {
    const plan = this.state().plan;
    switch (decision.type) {
      case 'plan': {
        // The run id is the seed's: taken from the sweep's start, in the planning host's local time.
        const planning = bookkeeping.planSweep.executeWithOptions(planningQueue(this.input), [this.input, this.sweepId, this.state().startedAtMs]);
        return this.bookkeep(planning, (planned) => ({ type: 'planned', work: decision.work, plan: planned }));
      }
      case 'loadJobs': {
        const source = plan!.jobSource;
        const inlineJobs = source.kind === 'inline' ? this.input.jobs?.slice(decision.start, decision.end) : undefined;
        const loading = bookkeeping.loadBatchJobs.executeWithOptions({ summary: decision.summary, ...filesQueue(plan!) }, [
          { source, start: decision.start, end: decision.end, inlineJobs, nodeRunDir: plan!.nodeRunDir },
        ]);
        return this.bookkeep(loading, (jobs) => ({ type: 'jobsLoaded', work: decision.work, jobs }));
      }
      case 'record': {
        const ran = new Set(decision.results.map((result) => result.node));
        const cleanUp = { sweepId: this.sweepId, nodes: plan!.nodes.filter((node) => ran.has(node.name)) };
        const recording = bookkeeping.recordJobResults.executeWithOptions({ summary: decision.summary, ...filesQueue(plan!) }, [
          { resultsDir: plan!.resultsDir, results: decision.results, timeline: decision.timeline, cleanUp },
        ]);
        return this.bookkeep(recording, () => ({ type: 'recorded', work: decision.work }));
      }
      case 'writeResults': {
        // Every output in the run folder before the Results JSON says where they are.
        const writing = this.outputsFetched().then(() => bookkeeping.writeResults.executeWithOptions(filesQueue(plan!), [decision.input]));
        return this.bookkeep(writing, (results) => ({ type: 'resultsWritten', work: decision.work, results }));
      }
      case 'warmUp': {
        const options = {
          startToCloseTimeout: `${decision.startToCloseSeconds} seconds`,
          summary: `warm-up ${decision.node.name} GPU ${decision.gpu}`,
          ...nodeQueue(plan!, decision.node),
        };
        const input = { node: decision.node, gpu: decision.gpu, runId: plan!.runId, sweepId: this.sweepId, timeoutSeconds: decision.timeoutSeconds };
        return this.onNode(
          decision.work,
          () => nodeUpkeep.warmupGpu.executeWithOptions(options, [input]),
          (result) => ({ type: 'warmedUp', work: decision.work, outcome: result }),
          (message) => ({ type: 'warmedUp', work: decision.work, outcome: { ok: false, message: `warm-up failed: ${message}` } }),
        );
      }
      case 'probeNode': {
        const input = { node: decision.node, clearHipCache: decision.clearHipCache, health: decision.health };
        const unreachable = (message: string) => ({
          node: decision.node.name,
          reachable: false,
          latency_ms: null,
          hip_cache_cleared: null,
          healthy: null,
          message: `unreachable: ${message}`,
        });
        return this.onNode(
          decision.work,
          () => nodeUpkeep.probeNode.executeWithOptions({ summary: decision.summary, ...nodeQueue(plan!, decision.node) }, [input]),
          (probe) => ({ type: 'nodeProbed', work: decision.work, probe }),
          (message) => ({ type: 'nodeProbed', work: decision.work, probe: unreachable(message) }),
        );
      }
      case 'resetNode':
        return this.onNode(
          decision.work,
          () =>
            nodeUpkeep.resetNode.executeWithOptions({ summary: decision.summary, ...nodeQueue(plan!, decision.node) }, [
              decision.node,
              decision.cooldownSeconds,
            ]),
          (reset) => ({ type: 'nodeReset', work: decision.work, outcome: reset }),
          (message) => ({ type: 'nodeReset', work: decision.work, outcome: { ok: false, message: `reset failed: ${message}` } }),
        );
      case 'startJob':
        return this.startJob(decision);
      case 'withdraw':
        this.scopes.get(decision.work)?.cancel();
        // The cancel reaches the standby's activity with its next heartbeat, up to 2 s away: its node is told at once.
        return this.onNode(
          decision.tell,
          () =>
            upkeep.withdrawWaitingJob.executeWithOptions(nodeQueue(plan!, decision.node), [
              { node: decision.node, gpu: decision.gpu, sweepId: this.sweepId, jobId: decision.jobId },
            ]),
          () => ({ type: 'told', work: decision.tell }),
          () => ({ type: 'told', work: decision.tell }),
        );
      case 'cancelWork':
        this.scopes.get(decision.work)?.cancel();
        return;
      case 'wakeAt': {
        const ms = decision.at - now;
        if (ms <= 0) return this.outcomes.feed({ type: 'timerFired' });
        // A timer in the sweep's non-cancellable scope: one the core no longer needs simply fires into nothing.
        sleep(ms, { summary: decision.summary }).then(
          () => this.outcomes.feed({ type: 'timerFired' }),
          (error: unknown) => this.outcomes.fail(error),
        );
        return;
      }
    }
  }

  private startJob(decision: Extract<Decision, { type: 'startJob' }>): void {
    const plan = this.state().plan!;
    const { job, node, gpu, timeouts } = decision;
    const input = {
      runId: plan.runId,
      sweepId: this.sweepId,
      startKey: String(decision.work),
      node,
      gpu,
      job,
      batch: decision.batch,
      attempt: decision.attempt,
      resultsDir: plan.resultsDir,
      nodeRunDir: plan.nodeRunDir,
      ...(plan.resultsHost ? { resultsHost: plan.resultsHost } : {}),
      leaseSeconds: plan.leaseSeconds,
      spacingSeconds: decision.spacingSeconds,
      ...(decision.reportStart ? { reportStart: true } : {}),
    };
    this.onNode(
      decision.work,
      () =>
        trialRuns.runJob.executeWithOptions(
          {
            startToCloseTimeout: `${timeouts.startToCloseSeconds} seconds`,
            scheduleToCloseTimeout: `${timeouts.scheduleToCloseSeconds} seconds`,
            summary: decision.summary,
            ...nodeQueue(plan, node),
          },
          [input],
        ),
      ({ fetchOutput, ...result }) => {
        if (fetchOutput) this.fetchOutput(result);
        return { type: 'jobEnded', work: decision.work, result };
      },
      (message, errorType) => ({ type: 'jobFailed', work: decision.work, message, ...(errorType ? { errorType } : {}) }),
    );
  }

  /**
   * The results host fetches an output the trial's worker left on its node. The job's GPU is free
   * meanwhile; the Results JSON and a continue-as-new wait for every fetch (`outputsFetched`).
   */
  private fetchOutput(result: AttemptResult): void {
    const plan = this.state().plan!;
    const node = plan.nodes.find((candidate) => candidate.name === result.node)!;
    const copy = { node, outputFile: result.output_file!, resultsDir: plan.resultsDir, nodeRunDir: plan.nodeRunDir };
    const fetching = this.resultsHost.track(
      outputCopies.collectOutput.executeWithOptions({ summary: `copy ${result.job_id}'s output home`, ...filesQueue(plan) }, [copy]),
    );
    this.fetches.add(fetching);
    fetching.then(
      () => this.fetches.delete(fetching),
      (error: unknown) => this.outcomes.fail(error),
    );
  }

  /** Resolves once every output fetch begun so far has ended. */
  async outputsFetched(): Promise<void> {
    while (this.fetches.size > 0) await Promise.all(this.fetches);
  }

  /** Bookkeeping on the results host: its value is the next event; its failure ends the sweep. */
  private bookkeep<T>(work: Promise<T>, done: (value: T) => SweepEvent): void {
    this.resultsHost.track(work).then(
      (value) => this.outcomes.feed(done(value)),
      (error: unknown) => this.outcomes.fail(error),
    );
  }

  /**
   * Work on a node, in a cancellation scope of its own: it ends with a value, with a failure (data
   * for the core: the node is unreachable, the job failed), or cancelled because the core said so.
   */
  private onNode<T>(id: number, start: () => Promise<T>, done: (value: T) => SweepEvent, failed: (message: string, errorType?: string) => SweepEvent): void {
    const scope = new CancellationScope();
    this.scopes.set(id, scope);
    scope.run(start).then(
      (value) => this.ended(id, done(value)),
      (error: unknown) => {
        if (isCancellation(error) && scope.consideredCancelled) return this.ended(id, { type: 'workCancelled', work: id });
        const cause = error instanceof ActivityFailure && error.cause ? error.cause : error;
        this.ended(
          id,
          failed(cause instanceof Error ? cause.message : String(cause), cause instanceof ApplicationFailure ? (cause.type ?? undefined) : undefined),
        );
      },
    );
  }

  private ended(id: number, event: SweepEvent): void {
    this.scopes.delete(id);
    this.outcomes.feed(event);
  }
}
