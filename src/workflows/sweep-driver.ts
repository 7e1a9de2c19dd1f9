/**
 * The thin driver around the dispatcher core: it feeds the core every event — activity outcomes,
 * timers, operators' messages, a cancel, a long history — and carries out its decisions; it
 * decides nothing. Its state is the core's state, one value, so continue-as-new hands on exactly
 * that. A cancel of the workflow reaches the core as an event: the core stops the work on the
 * nodes, records what was done and writes the Results JSON, then the sweep ends as cancelled.
 */
import {
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  condition,
  isCancellation,
  makeContinueAsNewFunc,
  setCurrentDetails,
  workflowInfo,
} from '@temporalio/workflow';
import { decide } from '../shared/dispatch/core';
import type { Decision } from '../shared/dispatch/decisions';
import type { SweepEvent } from '../shared/dispatch/events';
import { initialState, resumeState } from '../shared/dispatch/init';
import type { SweepState } from '../shared/dispatch/state';
import { detailsOf, nodesOf } from '../shared/dispatch/view';
import type { NodeState } from '../shared/progress';
import type { ResultsJson } from '../shared/results';
import { DEFAULT_CONTINUE_AS_NEW_AFTER_EVENTS, type SweepInput } from '../shared/sweep-input';
import { registerHandlers } from './handlers';
import { readPatches } from './patches';
import { ResultsHostWatch } from './results-host-watch';
import { recordCooldown, recordNodeState } from './sweep-metrics';
import { publishCounts, publishPlan } from './visibility';
import { Hands } from './work';

export class SweepDriver {
  readonly state: SweepState;
  private readonly pending: Decision[] = [];
  private readonly hands: Hands;
  private failure: { error: unknown } | null = null;
  private runDueTold = false;
  private readonly shownNodeStates = new Map<string, NodeState>();
  private readonly resultsHost: ResultsHostWatch;
  /** The patches of this run (src/workflows/patches.ts), read once before anything else. */
  readonly patches = readPatches();

  constructor(
    private readonly input: SweepInput,
    carried: SweepState | undefined,
    private readonly continueAsNew: (input: SweepInput, state: SweepState) => Promise<never>,
  ) {
    this.state = carried ? resumeState(carried) : initialState(Date.now());
    this.resultsHost = new ResultsHostWatch(
      () => this.state.plan?.resultsHost ?? input.resultsHost,
      () => this.show(),
      (error) => this.fail(error),
      this.patches.has('results-host-watch'),
    );
    const outcomes = { feed: (event: SweepEvent) => this.feed(event), fail: (error: unknown) => this.fail(error) };
    this.hands = new Hands(input, () => this.state, workflowInfo().workflowId, outcomes, this.resultsHost);
    registerHandlers(this);
  }

  waiting(): string | null {
    return this.resultsHost.waiting;
  }

  resultsHostTroubled(reason: string): void {
    this.resultsHost.troubled(reason);
  }

  /** One event into the core; its decisions wait for the loop. Synchronous, so an update's answer sees its own change. */
  feed(event: SweepEvent): void {
    this.pending.push(...decide(this.state, event, Date.now()));
    this.show();
  }

  private fail(error: unknown): void {
    this.failure ??= { error };
  }

  /** Runs the sweep to its end; a cancel of the workflow becomes the core's `cancel` event. */
  async run(): Promise<ResultsJson> {
    const root = CancellationScope.current();
    root.cancelRequested.then(
      () => undefined,
      (error: unknown) => {
        if (isCancellation(error)) this.feed({ type: 'cancel' });
        else this.fail(error);
      },
    );
    return CancellationScope.nonCancellable(() => this.loop());
  }

  private async loop(): Promise<ResultsJson> {
    this.feed({ type: 'begin' });
    for (;;) {
      await condition(() => this.pending.length > 0 || this.failure !== null);
      if (this.failure) throw this.failure.error;
      const decision = this.pending.shift()!;
      const results = await this.carryOut(decision);
      if (results) return results;
      this.tellWhenRunIsDue();
    }
  }

  private async carryOut(decision: Decision): Promise<ResultsJson | undefined> {
    switch (decision.type) {
      case 'publish':
        if (decision.what === 'plan') publishPlan(this.state);
        else publishCounts(this.state);
        return undefined;
      case 'coolingDown':
        recordCooldown(decision.seconds);
        return undefined;
      case 'requeue':
      case 'batchOver':
        return undefined;
      case 'continueAsNew':
        // Nothing runs here. Let running updates answer, and outputs under way reach the results host, first.
        await this.hands.outputsFetched();
        await condition(allHandlersFinished);
        return this.continueAsNew(this.input, this.state);
      case 'sweepOver':
        if (decision.cancelled)
          throw new CancelledFailure(decision.results ? 'sweep cancelled; its Results JSON is written' : 'sweep cancelled before it was planned');
        return decision.results!;
      case 'failSweep':
        throw ApplicationFailure.nonRetryable(decision.message, decision.errorType);
      default:
        this.hands.carryOut(decision, Date.now());
        return undefined;
    }
  }

  /** The run's history is long: the core continues as new at its next quiet point. */
  private tellWhenRunIsDue(): void {
    if (this.runDueTold) return;
    const { continueAsNewSuggested, historyLength } = workflowInfo();
    if (!continueAsNewSuggested && historyLength < (this.input.continueAsNewAfterEvents ?? DEFAULT_CONTINUE_AS_NEW_AFTER_EVENTS)) return;
    this.runDueTold = true;
    this.feed({ type: 'runDue' });
  }

  /** Temporal Web's current details and the node-state gauge, from the state. */
  private show(): void {
    const waiting = this.resultsHost.waiting;
    setCurrentDetails(detailsOf(this.state) + (waiting ? ` — ${waiting}` : ''));
    for (const node of nodesOf(this.state)) {
      if (this.shownNodeStates.get(node.name) === node.state) continue;
      this.shownNodeStates.set(node.name, node.state);
      recordNodeState(node.name, node.state);
    }
  }
}

/** Continue-as-new for `trialSweep`, with the memo and search attributes carried on. */
export function continueAsNewWith(
  _workflow: (input: SweepInput, state?: SweepState) => Promise<ResultsJson>,
): (input: SweepInput, state: SweepState) => Promise<never> {
  return (input, state) => {
    const { memo, typedSearchAttributes } = workflowInfo();
    return makeContinueAsNewFunc<typeof _workflow>({ memo, typedSearchAttributes })(input, state);
  };
}
