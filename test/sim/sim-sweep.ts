/**
 * One sweep driven through the dispatcher core on the virtual clock, the way the workflow drives
 * it: every event goes through `decide`, every decision is carried out — node-facing ones by the
 * simulated cluster, bookkeeping by the real code (planning from a real config, job records,
 * Results JSON and manifest written into a temporary run folder). After every step the decision
 * invariants are checked; a continue-as-new hands the state on as JSON; a worker crash replays the
 * run's events into a fresh state and requires the very same decisions and state.
 */
import { decide } from '../../src/shared/dispatch/core';
import type { BatchPolicy } from '../../src/shared/dispatch/policies';
import type { Decision } from '../../src/shared/dispatch/decisions';
import type { SweepEvent } from '../../src/shared/dispatch/events';
import { initialState, resumeState } from '../../src/shared/dispatch/init';
import type { SweepState } from '../../src/shared/dispatch/state';
import { loadJobRange } from '../../src/inputs/load-jobs';
import { planSweep } from '../../src/inputs/plan-sweep';
import { writeResultsActivity } from '../../src/activities/write-results';
import { appendJobResults, appendTimeline } from '../../src/results/run-files';
import type { ResultsJson } from '../../src/shared/results';
import type { SweepInput } from '../../src/shared/sweep-input';
import type { VirtualClock } from './clock';
import type { SimCluster } from './cluster';
import type { SweepPort } from './sim-process';
import { DecisionChecker } from './invariants';
import type { SweepOracle } from './oracle';

export interface SweepEnd {
  cancelled: boolean;
  results: ResultsJson | null;
  failed?: { message: string; errorType: string };
  atMs: number;
}

export class SimSweep implements SweepPort {
  state: SweepState;
  /** This run's events, for the replay check: the state it began from and what it heard. */
  private runStart: SweepState;
  private runEvents: { event: SweepEvent; now: number; decisions: string }[] = [];
  private told = false;
  readonly checker: DecisionChecker;
  end: SweepEnd | null = null;
  runs = 1;
  cancelRequested = false;

  constructor(
    readonly id: string,
    private readonly input: SweepInput,
    private readonly clock: VirtualClock,
    private readonly cluster: SimCluster,
    /** `policy`: a batching mode not in the list, tried in place of the config's; `oracle`: the rules the sweep is judged by. */
    private readonly options: {
      cwd: string;
      configFile: string;
      continueAsNewAfter: number | null;
      policy?: BatchPolicy;
      oracle: SweepOracle;
      onDecisions?: (decisions: Decision[]) => void;
    },
  ) {
    this.state = initialState(clock.now);
    this.runStart = structuredClone(this.state);
    this.checker = new DecisionChecker(id, options.oracle);
    cluster.register(this);
  }

  over(): boolean {
    return this.end !== null;
  }

  start(): void {
    this.feed({ type: 'begin' });
  }

  feed(event: SweepEvent): void {
    if (this.end) return;
    const now = this.clock.now;
    if (event.type === 'cancel') this.cancelRequested = true;
    const decisions = decide(this.state, event, now, this.options.policy);
    this.runEvents.push({ event: structuredClone(event), now, decisions: JSON.stringify(decisions) });
    this.checker.afterStep(this.state, event, decisions, now);
    this.options.onDecisions?.(decisions);
    for (const decision of decisions) this.carryOut(decision, now);
    if (!this.told && this.options.continueAsNewAfter !== null && this.runEvents.length >= this.options.continueAsNewAfter) {
      this.told = true;
      this.clock.at(now, () => this.feed({ type: 'runDue' }));
    }
  }

  private carryOut(decision: Decision, now: number): void {
    switch (decision.type) {
      case 'plan':
        return this.later(async () => {
          const plan = await planSweep(
            this.input,
            { sweepId: this.id, startedAt: new Date(now), claimRunFolder: true },
            { configFile: this.options.configFile, cwd: this.options.cwd },
          );
          return { type: 'planned', work: decision.work, plan };
        });
      case 'loadJobs':
        return this.later(async () => ({
          type: 'jobsLoaded',
          work: decision.work,
          jobs: await loadJobRange(this.state.plan!.jobSource, decision.start, decision.end, this.input.jobs?.slice(decision.start, decision.end)),
        }));
      case 'record':
        return this.later(async () => {
          await appendJobResults(this.state.plan!.resultsDir, decision.results);
          await appendTimeline(this.state.plan!.resultsDir, decision.timeline);
          return { type: 'recorded', work: decision.work };
        });
      case 'writeResults':
        return this.later(async () => ({ type: 'resultsWritten', work: decision.work, results: await writeResultsActivity(decision.input) }));
      case 'wakeAt':
        return this.clock.at(decision.at, () => this.feed({ type: 'timerFired' }));
      case 'continueAsNew':
        return this.clock.at(now, () => this.continueAsNew());
      case 'sweepOver':
        this.end = { cancelled: decision.cancelled, results: decision.results, atMs: now };
        return;
      case 'failSweep':
        this.end = { cancelled: false, results: null, failed: { message: decision.message, errorType: decision.errorType }, atMs: now };
        return;
      case 'publish':
      case 'coolingDown':
      case 'requeue':
      case 'batchOver':
        return;
      default:
        this.cluster.handle(this, decision);
    }
  }

  /** Bookkeeping that reads or writes files: its outcome comes back at the same virtual instant. */
  private later(io: () => Promise<SweepEvent>): void {
    this.clock.at(this.clock.now, async () => {
      if (this.end) return;
      this.feed(await io());
    });
  }

  /** A quiet point: the run hands its state on, as JSON, to the next run, which begins again. */
  private continueAsNew(): void {
    this.checkReplay();
    const carried = JSON.parse(JSON.stringify(this.state)) as SweepState;
    this.state = resumeState(carried);
    this.runStart = structuredClone(this.state);
    this.runEvents = [];
    this.told = false;
    this.runs++;
    this.feed({ type: 'begin' });
  }

  /** A worker crash: the new worker replays this run's history into a fresh state and must decide exactly as before. */
  checkReplay(): void {
    const replayed = structuredClone(this.runStart);
    for (const [index, { event, now, decisions }] of this.runEvents.entries()) {
      const again = JSON.stringify(decide(replayed, structuredClone(event), now, this.options.policy));
      check(
        again === decisions,
        'every history replays deterministically',
        () => `${this.id}: step ${index} (${event.type}) decided differently on replay:\n  was   ${decisions.slice(0, 400)}\n  now   ${again.slice(0, 400)}`,
      );
    }
    check(JSON.stringify(replayed) === JSON.stringify(this.state), 'every history replays deterministically', () => `${this.id}: the replayed state differs`);
  }
}

function check(holds: boolean, rule: string, detail: () => string): void {
  if (!holds) throw new Error(`${rule}: ${detail()}`);
}
