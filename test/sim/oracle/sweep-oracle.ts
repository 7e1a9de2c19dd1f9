/**
 * The oracle as the tests use it: hears each event, judges each step's decisions, and answers
 * what the sweep's end must show. It only routes: each rule lives with its concern (nodes, lanes,
 * attempts, batches, upkeep, records, pre-flight, end), all reading and writing one OracleState.
 */
import type { Decision } from '../../../src/shared/dispatch/decisions';
import type { SweepEvent } from '../../../src/shared/dispatch/events';
import { attemptDispatched, attemptEnded, judgeAttempt } from './attempts';
import { batchSettingsChanged, judgeBatch, judgeLoadJobs, judgeRollingRunning } from './batches';
import type { NodeProgress, SweepEvent as ProgressLine } from '../../../src/shared/progress';
import { expectedEnd, judgeCancel, judgeFailSweep, judgeNotStopped, judgeResultsInput, judgeSweepOver, mustFail, requiredStop, unretried } from './end';
import { confirmedStart, judgeLanes, judgeStagger, judgeStandbys, staggerChanged, withdraw } from './lanes';
import { judgeInService, judgeProbe, probed, steer } from './nodes';
import { judgePreflightVerdict, judgeTrialAfterPreflight, judgeWarmUp, warmUpAnswered } from './preflight';
import { batchOver, judgeRecordChunk, recordsAppended } from './records';
import { rule } from './rule';
import { judgeBatchEndCounts, judgeLines, judgeNodesShown, judgePhase, judgePublishes } from './shown';
import { holdingOn, initialState, type Mode, type OracleInput, type OracleState } from './state';
import { judgeCycle, judgeReset, resetDone, resetsRecorded } from './upkeep';

export class SweepOracle {
  readonly mode: Mode;
  private readonly state: OracleState;
  /** Progress lines are heard (the core tier): their rules apply. */
  private linesShown = false;

  constructor(input: OracleInput) {
    this.state = initialState(input);
    this.mode = this.state.mode;
  }

  /** What happened, at `now`: the event the core is about to hear. */
  hear(event: SweepEvent, now: number): void {
    const state = this.state;
    state.preflightLines = [];
    state.probeLines = null;
    switch (event.type) {
      case 'runDue':
        state.runDue = true;
        return;
      case 'planned':
        state.planned = true;
        state.pending.delete(event.work);
        return;
      case 'warmedUp':
        return warmUpAnswered(state, event.work, event.outcome.ok);
      case 'pause':
        state.paused = true;
        return;
      case 'resume':
        state.paused = false;
        return;
      case 'cancel':
        if (!state.cancelled) state.recordedAtCancel = state.recorded.size;
        state.cancelled = true;
        return;
      case 'settingsChanged':
        batchSettingsChanged(state, event.change, now);
        staggerChanged(state, event.change);
        return;
      case 'exclude':
      case 'readmit':
        return steer(state, event.type, event.selector, now);
      case 'jobStarted':
        return confirmedStart(state, event.work, event.startedAtMs);
      case 'jobEnded':
        return attemptEnded(state, event.work, now, event.result);
      case 'jobFailed':
      case 'workCancelled':
        return attemptEnded(state, event.work, now, null);
      case 'nodeReset':
        return resetDone(state, event.work, now, event.outcome.ok);
      case 'nodeProbed':
        return probed(state, event.work, event.probe.reachable, event.probe.reachable && event.probe.healthy !== false, now);
      default:
        if ('work' in event) state.pending.delete(event.work);
    }
  }

  /**
   * The decisions the core made at `now`, judged against the rules in force; `seen`, what users
   * see after the step — the progress lines it added, the nodes — (the workflow tier's trace has none).
   */
  judge(decisions: Decision[], now: number, seen?: { lines: ProgressLine[]; nodes: NodeProgress[]; phase: string }): void {
    // Records first: a batch's last records travel in the step that ends it.
    for (const decision of decisions)
      if (decision.type === 'record') {
        judgeRecordChunk(this.state, decision.results.length);
        recordsAppended(this.state, decision.results);
        resetsRecorded(this.state, decision.timeline);
      }
    if (seen) {
      this.linesShown = true;
      judgeLines(this.state, decisions, seen.lines);
      judgeNodesShown(this.state, decisions, seen.nodes);
      judgePhase(this.state, decisions, seen.phase);
    }
    for (const decision of decisions) this.judgeOne(decision, now);
    judgePublishes(this.state, decisions);
    judgeCancel(this.state);
    judgeStandbys(this.state);
    judgePreflightVerdict(this.state, decisions, now);
  }

  private judgeOne(decision: Decision, now: number): void {
    const state = this.state;
    judgeNotStopped(state, decision, now);
    switch (decision.type) {
      case 'startJob':
        return this.startJob(decision, now);
      case 'loadJobs':
        return judgeLoadJobs(state, decision, now);
      case 'warmUp':
        return judgeWarmUp(state, decision);
      case 'resetNode':
        return judgeReset(state, decision, now);
      case 'probeNode':
        return judgeProbe(state, decision, now);
      case 'withdraw':
        return withdraw(state, decision);
      case 'cancelWork': {
        const work = state.pending.get(decision.work);
        rule(
          !state.cancelAsked.has(decision.work) && ['job', 'reset', 'probe', 'warmup'].includes(work?.kind ?? ''),
          'only work on the nodes is cancelled, each piece once',
          () => `${state.input.sweep}: cancel of ${work?.kind ?? 'work not in flight'} ${decision.work}`,
        );
        state.cancelAsked.add(decision.work);
        return;
      }
      case 'writeResults':
        judgeResultsInput(state, decision);
        if (this.linesShown) judgeBatchEndCounts(state);
        state.pending.set(decision.work, { kind: decision.type });
        return;
      case 'plan':
        rule(
          !state.planned && ![...state.pending.values()].some((work) => work.kind === 'plan'),
          'a sweep is planned once',
          () => `${state.input.sweep}: planned again at ${now} ms`,
        );
        state.pending.set(decision.work, { kind: decision.type });
        return;
      case 'record':
        state.pending.set(decision.work, { kind: decision.type });
        return;
      case 'batchOver':
        return batchOver(state, decision, now);
      case 'continueAsNew':
        rule(state.pending.size === 0, 'continue-as-new only where nothing runs', () => `${state.input.sweep}: ${state.pending.size} pieces of work in flight`);
        state.runDue = false;
        return;
      case 'sweepOver':
        judgeSweepOver(state, decision);
        state.over = true;
        return;
      case 'failSweep':
        judgeFailSweep(state, decision);
        state.over = true;
        return;
      default:
        return;
    }
  }

  /** A start, judged concern by concern in a fixed order (the first rule broken is the one reported). */
  private startJob(decision: Extract<Decision, { type: 'startJob' }>, now: number): void {
    const state = this.state;
    const name = decision.node.name;
    const node = state.nodes.get(name);
    const where = `${state.input.sweep}: ${decision.job.job_id} (attempt ${decision.attempt}) on ${name} GPU ${decision.gpu} at ${now} ms`;
    rule(node !== undefined, 'jobs only on nodes with GPUs', () => where);
    if (!node) return;
    judgeTrialAfterPreflight(state, where);
    judgeInService(node, decision.gpu, where);
    judgeAttempt(state, decision, now, where);
    const standby = judgeLanes(state, decision, node, where);
    judgeStagger(state, decision, node, now, where);
    judgeBatch(state, decision, node, now, where);
    if (state.mode === 'rolling') judgeCycle(state, node, now, where);
    attemptDispatched(state, decision, node, standby);
    if (state.mode === 'rolling') judgeRollingRunning(state, where);
  }

  /** Attempts holding a GPU over the cluster: what users are told runs. */
  holding(): number {
    return [...this.state.nodes.keys()].reduce((sum, name) => sum + holdingOn(this.state, name), 0);
  }

  /** Why the Results JSON must say the sweep stopped early, if it must. */
  requiredStop(): string | null {
    return requiredStop(this.state);
  }

  /** The sweep must end failed: a node failed its probe before a batch under on_failure "fail". */
  mustFail(): boolean {
    return mustFail(this.state);
  }

  /** What the sweep's end must show, by the rules: ran to its end (every job one record), or why not. */
  expectedEnd(): { ranToEnd: boolean; why: string } {
    return expectedEnd(this.state);
  }

  /** The stagger (ms) in force when attempt `work` was dispatched. */
  staggerOf(work: number): number {
    return (this.state.staggerAt.get(work) ?? 0) * 1000;
  }

  /** Jobs given up on after a retryable failure with attempts left, in a sweep that ran to its end. */
  unretried(): string[] {
    return unretried(this.state);
  }

  /** Resets that ended but are missing from the timeline the sweep recorded. */
  unrecordedResets(): string[] {
    return this.state.resetsUnrecorded.map((reset) => `${reset.node} ${reset.start_ms}-${reset.end_ms} ms`);
  }

  /** How many jobs the sweep was given. */
  get jobCount(): number {
    return this.state.input.jobCount;
  }

  /** Jobs recorded so far (the core's final records). */
  recordedJobs(): number {
    return this.state.recorded.size;
  }
}
