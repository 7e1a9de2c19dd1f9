/**
 * The dispatcher core: the whole dispatch policy of a sweep as one reducer. `decide(state, event,
 * now)` applies what happened to the sweep's state and returns what to do next — every activity
 * and timer the workflow issues. No Temporal, no I/O, no clock of its own: the workflow drives it
 * with real outcomes and workflow time, `rigsweep plan` and the tests with a virtual clock.
 *
 * `decide` updates the state it is given (a sweep's state is one value, owned by its driver);
 * whoever needs the state before a step keeps a copy (`structuredClone`). Pure code.
 */
import { applySettingsChange } from '../live-settings';
import type { NodeSelector } from '../names';
import type { Decision } from './decisions';
import { jobStarted } from './dispatching';
import type { NodeOutcome, SweepEvent } from './events';
import type { NodeProbe } from '../results';
import { advance } from './flow';
import { takePlan } from './init';
import { attemptOver, failedDispatchResult, REPROBE_SECONDS } from './outcomes';
import type { BatchPolicy } from './policies';
import { probed } from './service';
import type { SweepState } from './state';
import { inService, isPlanned, Step } from './step';
import { upkeepOutcome } from './upkeep';

/**
 * Applies `event`, which happened at `now` (epoch ms, workflow time), to `state` and returns what
 * to do next. `policy` replaces the plan's batching mode: the simulator tries a mode with it
 * before the mode is listed; the workflow never passes one.
 */
export function decide(state: SweepState, event: SweepEvent, now: number, policy?: BatchPolicy): Decision[] {
  const step = new Step(state, now, policy);
  apply(step, event);
  advance(step);
  return step.decisions;
}

/** What happened, into the state; a fired timer (`timerFired`) brings nothing but the time: what is due is seen in `advance`. */
function apply(step: Step, event: SweepEvent): void {
  const { state, now } = step;
  switch (event.type) {
    case 'told':
    case 'recorded':
      step.finish(event.work);
      return;
    case 'planned':
      step.finish(event.work);
      takePlan(state, event.plan);
      return;
    case 'warmedUp': {
      const work = step.finish(event.work);
      // Stryker disable next-line ConditionalExpression,OptionalChaining: equivalent — each piece of work ends once, with the outcome of its kind: this only narrows the type.
      if (work?.kind !== 'warmup') return;
      step.log({ kind: 'preflight', node: work.node, gpu: work.gpu, ok: event.outcome.ok, message: event.outcome.message });
      if (!event.outcome.ok) step.warn(`pre-flight: ${work.node} GPU ${work.gpu}: ${event.outcome.message}`);
      // Its node's entry stays until pre-flight moves past its last GPU, which waits for this answer.
      state.warmups[work.node] = work.gpu + 1;
      return;
    }
    case 'jobsLoaded':
      step.finish(event.work);
      state.queue.push(...event.jobs.map((job) => ({ job, attempt: 1, previous: [] })));
      return;
    case 'jobStarted':
      jobStarted(step, event.work, event.startedAtMs);
      return;
    case 'jobEnded':
    case 'jobFailed': {
      const work = step.finish(event.work);
      // Jobs exist only once the sweep is planned.
      // Stryker disable next-line ConditionalExpression,LogicalOperator,OptionalChaining: equivalent — a job's outcome answers a job in flight, of a planned sweep: this only narrows the types.
      if (work?.kind !== 'job' || !isPlanned(step)) return;
      attemptOver(step, event.work, work, event.type === 'jobEnded' ? event.result : failedDispatchResult(work, now, event.errorType, event.message));
      return;
    }
    case 'workCancelled': {
      const work = step.finish(event.work);
      // A node is shown resetting by its reset alone (a probe shows nothing): stopped, it is shown so no more.
      if (work?.kind === 'reset') state.nodes[work.node].upkeep = null;
      else if (work?.kind === 'job' && isPlanned(step)) attemptOver(step, event.work, work, null);
      return;
    }
    case 'nodeReset':
      nodeReset(step, event.work, event.outcome);
      return;
    case 'nodeProbed':
      nodeProbed(step, event.work, event.probe);
      return;
    case 'resultsWritten':
      step.finish(event.work);
      state.finalResults = event.results;
      state.phase = 'done';
      state.over = true;
      step.decide({ type: 'sweepOver', results: event.results, cancelled: state.cancelled });
      return;
    case 'pause':
      state.steering.pauseRequested = true;
      return;
    case 'resume':
      state.steering.pauseRequested = false;
      return;
    case 'settingsChanged': {
      const before = state.settings;
      // Stryker disable next-line ConditionalExpression: equivalent — a `set` is refused until pre-flight is over (updates.ts), so the settings exist: this only narrows the type.
      if (!before) return;
      state.settings = applySettingsChange(before, event.change);
      const after = state.settings;
      // Stryker disable next-line ConditionalExpression: equivalent — until a node goes out or the batch numbers change (either sets the flag for good), a re-plan by the same numbers over the same nodes cuts the planner's own batches, so a change of other numbers re-plans to the same batches.
      if (after.max_jobs_per_batch !== before.max_jobs_per_batch || after.max_jobs_per_node_per_batch !== before.max_jobs_per_node_per_batch)
        state.steering.replanNeeded = true;
      return;
    }
    case 'exclude':
      exclude(state, event.selector);
      return;
    case 'readmit':
      readmit(state, event.selector);
      return;
    case 'runDue':
      state.runDue = true;
      return;
    case 'cancel':
      state.cancelled = true;
      return;
  }
}

/** A rig's reset came back: its upkeep (the cluster's, or the node's own) goes on with its outcome. */
function nodeReset(step: Step, id: number, outcome: NodeOutcome): void {
  const work = step.finish(id);
  // Resets run only in service.
  // Stryker disable next-line ConditionalExpression,LogicalOperator,OptionalChaining: equivalent — a reset's outcome answers a reset in flight, in service: this only narrows the types.
  if (work?.kind === 'reset' && inService(step)) upkeepOutcome(step, work, outcome);
}

function nodeProbed(step: Step, id: number, probe: NodeProbe): void {
  const { state, now } = step;
  const work = step.finish(id);
  // Stryker disable next-line OptionalChaining: equivalent — a probe's outcome answers work in flight (each piece of work ends once).
  if (work?.kind === 'check') {
    const { healthy: _unasked, ...check } = probe;
    state.preflight.push(check);
    step.log({ kind: 'preflight', node: check.node, ok: check.reachable, message: check.message });
    return;
  }
  // Stryker disable next-line ConditionalExpression,OptionalChaining: equivalent — not a check, so a probe: this only narrows the type.
  if (work?.kind !== 'probe') return;
  const outcome = { ok: probe.reachable && probe.healthy !== false, message: probe.message };
  if (!work.lost) {
    // A probe before a batch: the cluster's upkeep, in service.
    // Stryker disable next-line ConditionalExpression: equivalent — probes before a batch run only in service: this only narrows the type.
    if (inService(step)) upkeepOutcome(step, work, outcome);
    return;
  }
  // A node lost mid-sweep: failed probes count as before a batch, so one that stays away is quarantined.
  if (state.steering.leftOut[work.node] === undefined) return;
  const verdict = probed(state, work.node, outcome.ok, outcome.message, state.plan!.nodeHealth?.quarantine_after ?? 3);
  // A node is left out (a lost job, a failed probe) only once a batch has begun, which shows it.
  const batch = state.shown!.number;
  if (verdict === 'left out') {
    state.nodes[work.node].reprobeAtMs = now + REPROBE_SECONDS * 1000;
    return;
  }
  // It was left out, so a passing probe readmits it: never 'healthy' here.
  step.log({ kind: 'probe', batch, node: work.node, verdict: verdict as 'readmitted' | 'quarantined', message: outcome.message });
  if (verdict === 'quarantined') step.warn(`batch ${batch}: ${work.node} quarantined: ${state.steering.quarantined[work.node]}`);
}

function exclude(state: SweepState, { node, gpu }: NodeSelector): void {
  const current = state.steering.excluded[node];
  if (gpu === undefined) state.steering.excluded[node] = 'all';
  // Read only by membership (service.ts): order and repeats do not matter.
  else if (current !== 'all') state.steering.excluded[node] = current ? [...current, gpu] : [gpu];
  state.steering.replanNeeded = true;
}

function readmit(state: SweepState, { node, gpu }: NodeSelector): void {
  const current = state.steering.excluded[node];
  // The update's validator refused a node the sweep does not have (updates.ts).
  const gpuCount = state.allNodes.find((candidate) => candidate.name === node)!.gpuCount;
  if (gpu === undefined) {
    // An operator's word wins over the probes: the whole node is back, quarantined or not.
    delete state.steering.excluded[node];
    delete state.steering.quarantined[node];
    delete state.steering.leftOut[node];
    delete state.steering.probeFailures[node];
  } else if (current === 'all') state.steering.excluded[node] = Array.from({ length: gpuCount }, (_, g) => g).filter((g) => g !== gpu);
  else if (current) state.steering.excluded[node] = current.filter((g) => g !== gpu);
  // Stryker disable next-line BooleanLiteral: equivalent — what a readmit puts back (an exclusion, a failed probe, a lost node) set the flag for good as it went out, and after a readmit of what was never out a re-plan cuts the planner's own batches.
  state.steering.replanNeeded = true;
}
