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
import { betweenOutcome } from './between';
import type { Decision } from './decisions';
import { coolNode, jobStarted } from './dispatching';
import type { SweepEvent } from './events';
import type { NodeProbe } from '../results';
import { advance } from './flow';
import { takePlan } from './init';
import { attemptOver, failedDispatchResult, REPROBE_SECONDS } from './outcomes';
import { policyOf } from './policies';
import { probed } from './service';
import type { JobWork, SweepState } from './state';
import { Step } from './step';

export function decide(state: SweepState, event: SweepEvent, now: number): Decision[] {
  const step = new Step(state, now);
  apply(step, event);
  advance(step);
  return step.decisions;
}

function apply(step: Step, event: SweepEvent): void {
  const { state, now } = step;
  switch (event.type) {
    case 'begin':
    case 'told':
    case 'recorded':
      if ('work' in event) step.finish(event.work);
      return;
    case 'planned':
      step.finish(event.work);
      takePlan(state, event.plan);
      return;
    case 'warmedUp': {
      const work = step.finish(event.work);
      if (work?.kind !== 'warmup') return;
      step.log({ kind: 'preflight', node: work.node, gpu: work.gpu, ok: event.outcome.ok, message: event.outcome.message });
      if (!event.outcome.ok) step.warn(`pre-flight: ${work.node} GPU ${work.gpu}: ${event.outcome.message}`);
      if (state.warmups[work.node] !== undefined) state.warmups[work.node] = work.gpu + 1;
      return;
    }
    case 'jobsLoaded':
      if (step.finish(event.work)?.kind === 'load') state.queue.push(...event.jobs.map((job) => ({ job, attempt: 1, previous: [] })));
      return;
    case 'jobStarted':
      jobStarted(step, event.work, event.startedAtMs);
      return;
    case 'jobEnded':
    case 'jobFailed': {
      const work = step.finish(event.work);
      if (work?.kind !== 'job') return;
      attemptOver(step, event.work, work, event.type === 'jobEnded' ? event.result : failedDispatchResult(work, now, event.errorType, event.message));
      return;
    }
    case 'workCancelled': {
      const work = step.finish(event.work);
      if (work?.kind === 'job') attemptOver(step, event.work, work, null);
      else if (work?.kind === 'reset' || work?.kind === 'probe') state.nodes[work.node].upkeep = null;
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
    case 'timerFired':
      if (state.timerAtMs !== null && now >= state.timerAtMs) state.timerAtMs = null;
      return;
    case 'pause':
      state.steering.pauseRequested = true;
      return;
    case 'resume':
      state.steering.pauseRequested = false;
      return;
    case 'settingsChanged': {
      const before = state.settings;
      if (!before) return;
      state.settings = applySettingsChange(before, event.change);
      const after = state.settings;
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

function nodeReset(step: Step, id: number, outcome: { ok: boolean; message: string }): void {
  const { state, now } = step;
  const work = step.finish(id);
  if (work?.kind !== 'reset') return;
  const runtime = state.nodes[work.node];
  runtime.upkeep = null;
  if (!work.cycle) {
    const batch = policyOf(state.plan!).batchNumber(state.batchesBegun);
    state.timeline.push({ kind: 'reset', batch, node: work.node, start_ms: work.startedAtMs, end_ms: now, ok: outcome.ok });
    betweenOutcome(step, work.node, outcome);
    return;
  }
  // Rolling: the node's own reset after its cycle of jobs, then its own cooldown.
  const batch = state.shown?.number ?? 1;
  state.timeline.push({ kind: 'reset', batch, node: work.node, start_ms: work.startedAtMs, end_ms: now, ok: outcome.ok });
  step.log({ kind: 'reset', batch: batch - 1, node: work.node, ...outcome });
  if (!outcome.ok) step.warn(`${work.node} after ${runtime.cycleStarts} jobs: ${work.node}: ${outcome.message}`);
  if (!state.cancelled) coolNode(step, work.node);
}

function nodeProbed(step: Step, id: number, probe: NodeProbe): void {
  const { state, now } = step;
  const work = step.finish(id);
  if (work?.kind === 'check') {
    const { healthy: _unasked, ...check } = probe;
    state.preflight.push(check);
    step.log({ kind: 'preflight', node: check.node, ok: check.reachable, message: check.message });
    return;
  }
  if (work?.kind !== 'probe') return;
  const outcome = { ok: probe.reachable && probe.healthy !== false, message: probe.message };
  if (!work.lost) {
    betweenOutcome(step, work.node, outcome);
    return;
  }
  // A node lost mid-sweep: failed probes count as before a batch, so one that stays away is quarantined.
  if (state.steering.leftOut[work.node] === undefined) return;
  const verdict = probed(state, work.node, outcome.ok, outcome.message, state.plan?.nodeHealth?.quarantine_after ?? 3);
  const batch = state.shown?.number ?? 1;
  if (verdict === 'left out') {
    state.nodes[work.node].reprobeAtMs = now + REPROBE_SECONDS * 1000;
    return;
  }
  step.log({ kind: 'probe', batch, node: work.node, verdict: verdict === 'healthy' ? 'readmitted' : verdict, message: outcome.message });
  if (verdict === 'quarantined') step.warn(`batch ${batch}: ${work.node} quarantined: ${state.steering.quarantined[work.node]}`);
}

function exclude(state: SweepState, { node, gpu }: NodeSelector): void {
  const current = state.steering.excluded[node];
  if (gpu === undefined) state.steering.excluded[node] = 'all';
  else if (current !== 'all') state.steering.excluded[node] = [...new Set([...(current ?? []), gpu])].sort((a, b) => a - b);
  state.steering.replanNeeded = true;
}

function readmit(state: SweepState, { node, gpu }: NodeSelector): void {
  const current = state.steering.excluded[node];
  const gpuCount = state.allNodes.find((candidate) => candidate.name === node)?.gpuCount ?? 0;
  if (gpu === undefined) {
    // An operator's word wins over the probes: the whole node is back, quarantined or not.
    delete state.steering.excluded[node];
    delete state.steering.quarantined[node];
    delete state.steering.leftOut[node];
    delete state.steering.probeFailures[node];
  } else if (current === 'all') state.steering.excluded[node] = Array.from({ length: gpuCount }, (_, g) => g).filter((g) => g !== gpu);
  else if (current) state.steering.excluded[node] = current.filter((g) => g !== gpu);
  state.steering.replanNeeded = true;
}

/** The attempts in flight, for tests and tools that follow them. */
export function attemptsInFlight(state: SweepState): [number, JobWork][] {
  return Object.entries(state.work)
    .filter(([, work]) => work.kind === 'job')
    .map(([id, work]) => [Number(id), work as JobWork]);
}
