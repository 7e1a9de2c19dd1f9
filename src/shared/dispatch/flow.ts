/**
 * The seed's paragraph, as the core's order of things: plan; pre-flight; then for each batch —
 * a pause if one was asked for, the rigs' reset and a cooldown (not before the first), the nodes'
 * probes, the batch itself — and at the end the Results JSON. A long sweep continues as new at a
 * quiet point between batches; a cancel stops everything on the nodes and still writes what was
 * done. Pure code.
 */
import { dispatch, probeLostNodes } from './dispatching';
import { enterService } from './init';
import { betweenBatches } from './between';
import { finalize, REPROBE_SECONDS } from './outcomes';
import { policyOf } from './policies';
import { jobsLeft } from './policies/segments';
import { recordDue, resultsInput } from './records';
import { activeNodes, isNodeOut } from './service';
import { askForWakeUp } from './timers';
import { workOf, type Step } from './step';

const NO_NODE_IN_SERVICE = 'a node in service (every node is excluded; readmit one)';

/** Work that runs on a node: a cancel stops it there. */
const NODE_WORK = new Set(['check', 'warmup', 'job', 'reset', 'probe', 'tell']);

export function advance(step: Step): void {
  const { state } = step;
  if (state.over) return;
  if (state.cancelled) {
    cancelFlow(step);
    return;
  }
  if (!state.plan) {
    if (workOf(state, 'plan').length === 0) step.begin({ kind: 'plan' }, (work) => ({ type: 'plan', work }));
    return;
  }
  if (state.preflightStage !== 'done') preflight(step);
  if (state.preflightStage === 'done' && !state.over) run(step);
  if (!state.over) askForWakeUp(step);
}

/** Pre-flight, once per sweep: every node checked, unreachable ones left out, then each node's warm-up one GPU at a time. */
function preflight(step: Step): void {
  const { state } = step;
  const plan = state.plan!;
  if (!plan.preflight.enabled) {
    enterService(state, plan.nodes);
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
          summary: `pre-flight check of ${node.name}`,
        }));
    }
    if (workOf(state, 'check').length > 0) return;
    const unreachable = state.preflight.filter((check) => !check.reachable);
    const report = unreachable.map((check) => `${check.node} (${check.message})`).join(', ');
    if (unreachable.length && plan.preflight.required) return failSweep(step, `pre-flight failed: ${report}; preflight.required is set`, 'PreflightFailed');
    if (unreachable.length === plan.nodes.length) return failSweep(step, `pre-flight failed: no node can be reached: ${report}`, 'PreflightFailed');
    for (const check of unreachable) step.warn(`pre-flight: ${check.node} left out of this sweep: ${check.message}`);
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
    step.begin({ kind: 'warmup', node: name, gpu }, (work) => ({ type: 'warmUp', work, node, gpu, timeoutSeconds: plan.preflight.warmup_timeout_seconds }));
  }
  if (Object.keys(state.warmups).length > 0) return;
  enterService(state, reachable(step));
  step.decide({ type: 'publish', what: 'plan' });
}

const reachable = (step: Step) => step.state.plan!.nodes.filter((node) => step.state.preflight.find((check) => check.node === node.name)?.reachable);

function failSweep(step: Step, message: string, errorType: string): void {
  step.state.over = true;
  step.decide({ type: 'failSweep', message, errorType });
}

/** The batches, one after another, then the end. */
function run(step: Step): void {
  const { state } = step;
  if (!state.writing) probeLostNodes(step);
  if (state.batch) {
    dispatch(step);
    state.waitingFor = activeNodes(state).length === 0 ? NO_NODE_IN_SERVICE : null;
    if (!batchDone(step)) {
      recordDue(step, false);
      return;
    }
    endBatch(step);
  }
  if (recordDue(step, true) || state.writing) return;
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
  if (!betweenBatches(step) || everyNodeQuarantined(step)) return;
  beginBatch(step);
  if (state.batch) dispatch(step);
}

/** No node can come back by itself: the sweep ends with what ran instead of waiting for ever. */
function everyNodeQuarantined(step: Step): boolean {
  const { state } = step;
  if (!state.plan!.nodes.every((node) => state.steering.quarantined[node.name] !== undefined)) return false;
  const left = jobsLeft(state) + state.queue.length;
  state.stoppedReason = `every node is quarantined; ${left} job${left === 1 ? '' : 's'} not run`;
  finish(step);
  return true;
}

/** Nothing runs or is being read, and nothing left in the queue can start anywhere. */
function batchDone(step: Step): boolean {
  const { state } = step;
  const plan = state.plan!;
  if (workOf(state, 'job').length > 0 || workOf(state, 'load').length > 0) return false;
  if (Object.values(state.nodes).some((runtime) => runtime.cycle?.step === 'resetting' || runtime.cycle?.step === 'cooling')) return false;
  const policy = policyOf(plan);
  // A retry has no later batch: it waits for a node back in service, as long as some node is not quarantined.
  const someNodeMayReturn = plan.nodes.some((node) => state.steering.quarantined[node.name] === undefined);
  const someNodeMayTake = (first: boolean) => plan.nodes.some((node) => !isNodeOut(state, node) && policy.mayStart(state, node.name, first));
  return state.queue.every((entry) => !(entry.attempt > 1 && someNodeMayReturn) && !someNodeMayTake(entry.attempt === 1));
}

/** The batch is over: retries nobody can run get their last attempt as their result; its line is shown. */
function endBatch(step: Step): void {
  const { state, now } = step;
  const batch = state.batch!;
  const plan = state.plan!;
  for (const entry of state.queue.filter((queued) => queued.attempt > 1 && queued.last)) finalize(step, { ...entry.last!, attempts: entry.previous });
  state.queue = state.queue.filter((queued) => queued.attempt === 1);
  state.timeline.push({ kind: 'batch', batch: batch.number, start_ms: batch.startedAtMs, end_ms: now });
  const policy = policyOf(plan);
  const more = jobsLeft(state) > 0 || state.queue.length > 0;
  const shown = state.shown!;
  if (!more || policy.batchNumber(state.batchesBegun) !== batch.number)
    step.log({ kind: 'batch-end', batch: batch.number, successful: shown.successful, jobs: shown.finished });
  const limit = plan.batching.max_fail_percentage;
  const failed = shown.finished - shown.successful;
  const percent = (100 * failed) / Math.max(1, shown.finished);
  if (policy.stopsOnFailures && limit !== undefined && percent > limit && more) {
    state.stoppedReason = `batch ${batch.number}: ${failed} of ${shown.finished} jobs failed (${Math.round(percent)}%), above max_fail_percentage ${limit}; no further batch was started`;
  }
  for (const runtime of Object.values(state.nodes)) runtime.firstStarts = 0;
  state.batch = null;
  state.between = null;
  step.decide({ type: 'batchOver', batch: batch.number });
  step.decide({ type: 'publish', what: 'counts' });
}

/** The next batch: as planned, or as the live numbers allow over the nodes in service. */
function beginBatch(step: Step): void {
  const { state, now } = step;
  if (activeNodes(state).length === 0) {
    state.waitingFor = NO_NODE_IN_SERVICE;
    // Nodes a failed probe left out come back only through a probe: with none in service, probe them now and then.
    for (const name of Object.keys(state.steering.leftOut)) state.nodes[name].reprobeAtMs ??= now + REPROBE_SECONDS * 1000;
    return;
  }
  state.waitingFor = null;
  const policy = policyOf(state.plan!);
  const { load, perNodeCap } = policy.nextBatch(state);
  const index = state.batchesBegun;
  const number = policy.batchNumber(index);
  state.batchCount = policy.batchCount(state);
  state.batchesBegun++;
  state.batch = { index, number, perNodeCap, startedAtMs: now };
  state.phase = 'running';
  if (state.shown?.number !== number) {
    state.shown = { number, jobs: policy.grows ? state.plan!.totalJobs : state.queue.length + load, finished: 0, successful: 0 };
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
function finish(step: Step): void {
  const { state } = step;
  for (const runtime of Object.values(state.nodes)) runtime.reprobeAtMs = null;
  if (Object.keys(state.work).length > 0) return;
  writeResults(step, state.stoppedReason);
}

function writeResults(step: Step, stoppedReason: string | null): void {
  const { state } = step;
  const policy = policyOf(state.plan!);
  state.writing = true;
  state.phase = 'writing results';
  const batches = state.batchesBegun === 0 ? 0 : policy.batchNumber(state.batchesBegun - 1);
  const input = resultsInput(step, stoppedReason, batches);
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
    if (work.kind !== 'tell') step.decide({ type: 'cancelWork', work: Number(id) });
  }
  const busy = Object.values(state.work).some((work) => NODE_WORK.has(work.kind) || work.kind === 'plan' || work.kind === 'load');
  if (busy || state.writing) return;
  if (!state.plan) {
    state.over = true;
    step.decide({ type: 'sweepOver', results: null, cancelled: true });
    return;
  }
  if (recordDue(step, true)) return;
  const nothingLeft = jobsLeft(state) === 0 && state.queue.length === 0 && !state.batch;
  writeResults(step, state.stoppedReason ?? (nothingLeft ? 'cancelled after its last job ended' : 'cancelled; no further job was started'));
}
