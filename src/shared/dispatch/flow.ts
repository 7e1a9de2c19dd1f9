/**
 * The seed's paragraph, as the core's order of things: plan; pre-flight; then for each batch —
 * a pause if one was asked for, the rigs' reset and a cooldown (not before the first), the nodes'
 * probes, the batch itself — and at the end the Results JSON. A long sweep continues as new at a
 * quiet point between batches; a cancel stops everything on the nodes and still writes what was
 * done. Pure code.
 */
import { dispatch, probeLostNodes } from './dispatching';
import { enterService } from './init';
import { warmUpLimitSeconds } from './limits';
import { finalize, REPROBE_SECONDS } from './outcomes';
import { jobsLeft } from './policies/segments';
import { recordDue, resultsInput } from './records';
import { activeNodes, isNodeOut } from './service';
import { askForWakeUp } from './timers';
import type { PlannedState, ServingState } from './state';
import { inService, isPlanned, workOf, type Step } from './step';
import { clusterUpkeep, someNodeInUpkeep } from './upkeep';

const NO_NODE_IN_SERVICE = 'a node in service (every node is excluded; readmit one)';

/** Work that runs on a node: a cancel stops it there (a withdrawn standby's `tell` stops itself: it is waited for). */
const NODE_WORK = new Set(['check', 'warmup', 'job', 'reset', 'probe']);

export function advance(step: Step): void {
  const { state } = step;
  if (state.over) return;
  if (state.cancelled) {
    cancelFlow(step);
    return;
  }
  if (!isPlanned(step)) {
    if (workOf(state, 'plan').length === 0) step.begin({ kind: 'plan' }, (work) => ({ type: 'plan', work }));
    return;
  }
  if (state.preflightStage !== 'done') preflight(step);
  // Pre-flight's end puts the sweep in service: its numbers are in force from then on.
  if (inService(step) && !state.over) run(step);
  if (!state.over) askForWakeUp(step);
}

/** Pre-flight, once per sweep: every node checked, unreachable ones left out, then each node's warm-up one GPU at a time. */
function preflight(step: Step<PlannedState>): void {
  const { state } = step;
  const plan = state.plan;
  if (!plan.preflight.enabled) {
    enterService(step, plan.nodes);
    step.decide({ type: 'publish', what: 'plan' });
    return;
  }
  state.phase = 'pre-flight';
  if (state.preflightStage === 'checks') {
    if (state.preflight.length === 0 && workOf(state, 'check').length === 0) {
      for (const node of plan.nodes)
        step.begin({ kind: 'check', node: node.name }, (work) => ({
          type: 'probeNode',
          work,
          node,
          clearHipCache: plan.preflight.clear_hip_cache,
          health: false,
          lost: false,
          summary: `pre-flight check of ${node.name}`,
        }));
    }
    if (workOf(state, 'check').length > 0) return;
    const unreachable = state.preflight.filter((check) => !check.reachable);
    const report = unreachable.map((check) => `${check.node} (${check.message})`).join(', ');
    if (unreachable.length && plan.preflight.required) return failSweep(step, `pre-flight failed: ${report}; preflight.required is set`, 'PreflightFailed');
    if (unreachable.length === plan.nodes.length) return failSweep(step, `pre-flight failed: no node can be reached: ${report}`, 'PreflightFailed');
    for (const check of unreachable) step.warn(`pre-flight: ${check.node} left out of this sweep: ${check.message}`);
    // Stryker disable next-line StringLiteral: equivalent — the stage is only ever told apart from 'checks' and 'done'.
    state.preflightStage = 'warm-ups';
    for (const node of reachable(step)) if (node.warmupCommand) state.warmups[node.name] = 0;
  }
  // One GPU at a time per node: warm-ups exist because simultaneous HIP initialisations freeze rigs.
  const warming = new Set(workOf(state, 'warmup').map(([, work]) => work.node));
  for (const [name, gpu] of Object.entries(state.warmups)) {
    if (warming.has(name)) continue;
    const node = step.node(name);
    if (gpu >= node.gpuCount) {
      delete state.warmups[name];
      continue;
    }
    const timeoutSeconds = plan.preflight.warmup_timeout_seconds;
    step.begin({ kind: 'warmup', node: name, gpu }, (work) => ({
      type: 'warmUp',
      work,
      node,
      gpu,
      timeoutSeconds,
      startToCloseSeconds: warmUpLimitSeconds(timeoutSeconds),
    }));
  }
  if (Object.keys(state.warmups).length > 0) return;
  enterService(step, reachable(step));
  step.decide({ type: 'publish', what: 'plan' });
}

const reachable = (step: Step<PlannedState>) =>
  step.state.plan.nodes.filter((node) => step.state.preflight.some((check) => check.node === node.name && check.reachable));

function failSweep(step: Step, message: string, errorType: string): void {
  step.state.over = true;
  step.decide({ type: 'failSweep', message, errorType });
}

/** The batches, one after another, then the end. */
function run(step: Step<ServingState>): void {
  const { state } = step;
  // While the Results JSON is written no node is due a probe: finish() cleared every reprobe before it.
  probeLostNodes(step);
  if (state.batch) {
    dispatch(step);
    state.waitingFor = activeNodes(state).length === 0 ? NO_NODE_IN_SERVICE : null;
    if (!batchDone(step)) {
      recordDue(step, false);
      return;
    }
    endBatch(step);
  }
  if (recordDue(step, true)) return;
  // Once so it stays so (nothing is read or queued any more): every later step ends here, finish() waiting for the Results JSON in flight.
  if ((jobsLeft(state) === 0 && state.queue.length === 0) || state.stoppedReason) {
    finish(step);
    return;
  }
  if (everyNodeQuarantined(step)) return;
  if (state.runDue) {
    // A quiet point: nothing runs, every result is recorded — the run hands over to a new one.
    if (Object.keys(state.work).length === 0) step.decide({ type: 'continueAsNew' });
    return;
  }
  if (!clusterUpkeep(step) || everyNodeQuarantined(step)) return;
  beginBatch(step);
  if (state.batch) dispatch(step);
}

/** No node can come back by itself: the sweep ends with what ran instead of waiting for ever. */
function everyNodeQuarantined(step: Step<PlannedState>): boolean {
  const { state } = step;
  if (!state.plan.nodes.every((node) => state.steering.quarantined[node.name] !== undefined)) return false;
  const left = jobsLeft(state) + state.queue.length;
  state.stoppedReason = `every node is quarantined; ${left} job${left === 1 ? '' : 's'} not run`;
  finish(step);
  return true;
}

/** Nothing runs or is being read, and nothing left in the queue can start anywhere. */
function batchDone(step: Step<ServingState>): boolean {
  const { state } = step;
  const plan = state.plan;
  if (workOf(state, 'job').length > 0 || workOf(state, 'load').length > 0) return false;
  if (someNodeInUpkeep(state)) return false;
  const policy = step.policy();
  // A retry has no later batch: it waits for a node back in service, as long as some node is not quarantined.
  const someNodeMayReturn = plan.nodes.some((node) => state.steering.quarantined[node.name] === undefined);
  // A first attempt waits for a node in service that may still start one in this batch.
  const someNodeMayTakeFirst = plan.nodes.some((node) => !isNodeOut(state, node) && policy.mayStart(state, node.name, true));
  return !state.queue.some((entry) => (entry.attempt > 1 ? someNodeMayReturn : someNodeMayTakeFirst));
}

/** The batch is over: retries nobody can run get their last attempt as their result; its line is shown. */
function endBatch(step: Step<ServingState>): void {
  const { state, now } = step;
  const batch = state.batch!;
  const plan = state.plan;
  // A retry carries its last attempt's result (`last`); a first attempt has none.
  for (const entry of state.queue.filter((queued) => queued.last)) finalize(step, { ...entry.last!, attempts: entry.previous });
  state.queue = state.queue.filter((queued) => queued.attempt === 1);
  state.timeline.push({ kind: 'batch', batch: batch.number, start_ms: batch.startedAtMs, end_ms: now });
  const policy = step.policy();
  const more = jobsLeft(state) > 0 || state.queue.length > 0;
  const shown = state.shown!;
  if (!more || policy.batchNumber(state.batchesBegun) !== batch.number)
    step.log({ kind: 'batch-end', batch: batch.number, successful: shown.successful, jobs: shown.finished });
  // No limit: no failure rate is above it.
  const limit = plan.batching.max_fail_percentage ?? Infinity;
  const failed = shown.finished - shown.successful;
  const percent = (100 * failed) / Math.max(1, shown.finished);
  if (policy.stopsOnFailures && percent > limit && more) {
    state.stoppedReason = `batch ${batch.number}: ${failed} of ${shown.finished} jobs failed (${Math.round(percent)}%), above max_fail_percentage ${limit}; no further batch was started`;
  }
  for (const runtime of Object.values(state.nodes)) runtime.firstStarts = 0;
  state.batch = null;
  state.between = null;
  step.decide({ type: 'batchOver', batch: batch.number });
  step.decide({ type: 'publish', what: 'counts' });
}

/** The next batch: as planned, or as the live numbers allow over the nodes in service. */
function beginBatch(step: Step<ServingState>): void {
  const { state, now } = step;
  if (activeNodes(state).length === 0) {
    state.waitingFor = NO_NODE_IN_SERVICE;
    // Nodes a failed probe left out come back only through a probe: with none in service, probe them now and then.
    // One under way says itself when the node is due again (core.ts): a node it finds back is probed no more.
    const probing = new Set(workOf(state, 'probe').map(([, work]) => work.node));
    for (const name of Object.keys(state.steering.leftOut)) if (!probing.has(name)) state.nodes[name].reprobeAtMs ??= now + REPROBE_SECONDS * 1000;
    return;
  }
  state.waitingFor = null;
  const policy = step.policy();
  const { load, perNodeCap } = policy.nextBatch(state);
  const index = state.batchesBegun;
  const number = policy.batchNumber(index);
  state.batchCount = policy.batchCount(state);
  state.batchesBegun++;
  state.batch = { index, number, perNodeCap, startedAtMs: now };
  state.phase = 'running';
  if (state.shown?.number !== number) {
    state.shown = { number, jobs: policy.grows ? state.plan.totalJobs : state.queue.length + load, finished: 0, successful: 0 };
    step.log({ kind: 'batch-start', batch: number, batchCount: state.batchCount, jobs: state.shown.jobs });
  }
  if (load > 0) {
    const start = state.cursor;
    const end = start + load;
    state.cursor = end;
    step.begin({ kind: 'load', start, end }, (work) => ({
      type: 'loadJobs',
      work,
      start,
      end,
      summary: `batch ${number}/${state.batchCount}: jobs ${start + 1}-${end}`,
    }));
  }
  step.decide({ type: 'publish', what: 'counts' });
}

/** Every job has its result (or the sweep stopped): the Results JSON, once nothing runs any more. */
function finish(step: Step<PlannedState>): void {
  const { state } = step;
  for (const runtime of Object.values(state.nodes)) runtime.reprobeAtMs = null;
  if (Object.keys(state.work).length > 0) return;
  writeResults(step, state.stoppedReason);
}

function writeResults(step: Step<PlannedState>, stoppedReason: string | null): void {
  const { state } = step;
  const policy = step.policy();
  state.phase = 'writing results';
  const batches = state.batchesBegun === 0 ? 0 : policy.batchNumber(state.batchesBegun - 1);
  const input = resultsInput(step, stoppedReason, batches);
  // Stryker disable next-line ObjectLiteral,StringLiteral: equivalent — nothing reads a write's kind; it only has to be work in flight.
  step.begin({ kind: 'write' }, (work) => ({ type: 'writeResults', work, input }));
}

/**
 * A cancel: everything running on a node is stopped there (its process group killed) and waited
 * for; then every finished job is recorded and the Results JSON written — complete, if the last
 * job had already ended — and the sweep ends as cancelled.
 */
function cancelFlow(step: Step): void {
  const { state } = step;
  for (const [id, work] of Object.entries(state.work)) {
    if (!NODE_WORK.has(work.kind) || state.cancelling.includes(Number(id))) continue;
    state.cancelling.push(Number(id));
    step.decide({ type: 'cancelWork', work: Number(id) });
  }
  // Anything in flight is waited for: node work being stopped, a tell, the plan, jobs being read, a record, the Results JSON.
  if (Object.keys(state.work).length > 0) return;
  if (!isPlanned(step)) {
    state.over = true;
    step.decide({ type: 'sweepOver', results: null, cancelled: true });
    return;
  }
  if (recordDue(step, true)) return;
  // Nothing runs on the nodes any more: a cooldown the cancel cut short is over too (users saw the node cooling down for ever).
  for (const runtime of Object.values(state.nodes)) runtime.upkeep = null;
  const nothingLeft = jobsLeft(step.state) === 0 && state.queue.length === 0 && !state.batch;
  writeResults(step, state.stoppedReason ?? (nothingLeft ? 'cancelled after its last job ended' : 'cancelled; no further job was started'));
}
