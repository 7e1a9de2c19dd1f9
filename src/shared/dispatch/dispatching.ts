/**
 * Inside a batch: one lane per GPU, every node fed from the batch's queue as its lanes free up,
 * within its caps, and no two starts on one node closer than its `stagger_delay` — timed from the
 * previous job's confirmed start, because simultaneous HIP initialisations froze rigs. Nodes take
 * jobs in rounds, in config order, one job each per round. Standbys, the growing segment,
 * withdrawals and probes of lost nodes happen here too; a node's own upkeep (rolling) is started
 * and moved on from here, and runs in upkeep.ts. Pure code.
 */
import { SEGMENT_JOBS } from './policies/segments';
import { freeGpu, seat, standbyGpu } from './lanes';
import { attemptTimeouts } from './limits';
import { isGpuExcluded, isNodeOut, staggerSeconds } from './service';
import type { JobWork, ServingState } from './state';
import { workOf, type Step } from './step';
import { beginNodeUpkeep, nodeUpkeep } from './upkeep';

/**
 * How much earlier than the stagger a node's next job is sent: about a dispatch's round trip, so
 * it arrives as the spacing ends. The node's start permit holds it until exactly then.
 */
export const DISPATCH_LEAD_MS = 250;

/** Starts what may start now, grows the segment, takes standbys back, moves nodes' own upkeep on. */
export function dispatch(step: Step<ServingState>): void {
  withdrawStandbys(step);
  const nodes = step.state.plan.nodes;
  // Until nothing starts: a node whose upkeep ends may start again at once, one that starts may find its upkeep due.
  // Upkeep alone moving needs no second pass: each node's runs as far as it can go, and no other node's depends on it.
  for (let started = true; started;) {
    started = false;
    for (const node of nodes) nodeUpkeep(step, node.name);
    for (let round = true; round;) {
      round = false;
      for (const node of nodes) round = startOne(step, node.name) || round;
      started ||= round;
    }
  }
  grow(step);
}

/** Starts one job on `name` if it may take one now; true when it did (or found its upkeep due instead). */
function startOne(step: Step<ServingState>, name: string): boolean {
  const { state, now } = step;
  const node = step.node(name);
  const runtime = step.runtime(name);
  const policy = step.policy();
  if (isNodeOut(state, node) || runtime.cycle || now < readyAt(step, name)) return false;
  const index = state.queue.findIndex((entry) => (entry.notBeforeMs ?? 0) <= now && policy.mayStart(state, name, entry.attempt === 1));
  if (index < 0) return false;
  if (policy.upkeepScope === 'node' && policy.upkeepDue(state, name)) {
    beginNodeUpkeep(step, name);
    return true;
  }
  const entry = state.queue[index];
  const excluded = (gpu: number) => isGpuExcluded(state, name, gpu);
  const avoid = entry.avoid?.node === name ? entry.avoid.gpu : undefined;
  const stagger = staggerSeconds(state, node);
  const standbys = policy.standbys && stagger === 0;
  let gpu = freeGpu(runtime.lanes, node, excluded, avoid);
  // Counts as running: it holds its GPU, unless it is a standby behind the attempt holding it.
  let counted = true;
  if (gpu === undefined && standbys) {
    // Seats hold only attempts in flight: an attempt leaves its seat as it ends.
    gpu = standbyGpu(runtime.lanes, excluded, (work) => (state.work[work] as JobWork).started, avoid);
    counted = false;
  }
  if (gpu === undefined) return false;
  state.queue.splice(index, 1);
  delete entry.notBeforeMs;
  if (entry.attempt === 1) runtime.firstStarts++;
  runtime.cycleStarts++;
  const batch = state.batch!.number;
  const { job, attempt } = entry;
  const chosen = gpu;
  const work: JobWork = { kind: 'job', entry, node: name, gpu: chosen, batch, counted, started: false };
  const started = step.begin(work, (id) => ({
    type: 'startJob',
    work: id,
    job,
    node,
    gpu: chosen,
    attempt,
    batch,
    spacingSeconds: stagger,
    reportStart: standbys || stagger > 0,
    standby: !counted,
    timeouts: attemptTimeouts(job.timeout),
    summary: `${job.job_id} on ${name} GPU ${chosen}${attempt > 1 ? ` (attempt ${attempt})` : ''}${counted ? '' : ' (standby)'}`,
  }));
  seat(runtime.lanes, chosen, started.work);
  if (counted) state.counts.running++;
  Object.assign(runtime, { awaitingStart: started.work, endedUnstartedAtMs: null });
  return true;
}

/** A job's process runs: a staggered node times its next start from here. */
export function jobStarted(step: Step, id: number, startedAtMs: number): void {
  const work = step.state.work[id] as JobWork | undefined;
  if (work?.kind !== 'job') return;
  work.started = true;
  const runtime = step.runtime(work.node);
  // Any start counts — a standby's, an attempt started again after its worker was lost — not only the awaited one.
  runtime.lastStartedAtMs = Math.max(runtime.lastStartedAtMs ?? -Infinity, startedAtMs);
  if (runtime.awaitingStart === id) runtime.awaitingStart = null;
}

/**
 * When the node may start its next job, by its stagger in force: never before it heard that its
 * last job started (or saw it end), then a stagger from that start — less a dispatch's lead, since
 * the node's permit holds the job until exactly then. Without a stagger: now.
 */
export function readyAt(step: Step, name: string): number {
  const stagger = staggerSeconds(step.state, step.node(name)) * 1000;
  const runtime = step.runtime(name);
  if (stagger === 0) return -Infinity;
  if (runtime.awaitingStart !== null) return Infinity;
  const fromStart = runtime.lastStartedAtMs !== null ? runtime.lastStartedAtMs + stagger - DISPATCH_LEAD_MS : -Infinity;
  const fromEnd = runtime.endedUnstartedAtMs !== null ? runtime.endedUnstartedAtMs + stagger : -Infinity;
  return Math.max(fromStart, fromEnd);
}

/**
 * A standby on a node or GPU taken out of service (or given a stagger) before it counted as
 * running: its attempt is cancelled and its node told at once, so it cannot start there if the
 * GPU frees up meanwhile.
 */
function withdrawStandbys(step: Step): void {
  const { state } = step;
  for (const [id, work] of workOf(state, 'job')) {
    if (work.counted || work.withdrawn || work.cancelRequested) continue;
    // Also on a node an operator gave a stagger: a standby there would start without it.
    if (!isGpuExcluded(state, work.node, work.gpu) && staggerSeconds(state, step.node(work.node)) === 0) continue;
    work.withdrawn = true;
    step.begin({ kind: 'tell' }, (tell) => ({ type: 'withdraw', work: id, tell, node: step.node(work.node), gpu: work.gpu, jobId: work.entry.job.job_id }));
  }
}

/** Probes each lost node again once its time has come, until it is back or quarantined: in a batch or between. */
export function probeLostNodes(step: Step): void {
  const { state, now } = step;
  const probing = new Set(workOf(state, 'probe').map(([, work]) => work.node));
  for (const [name, runtime] of Object.entries(state.nodes)) {
    if (runtime.reprobeAtMs === null || runtime.reprobeAtMs > now || probing.has(name)) continue;
    runtime.reprobeAtMs = null;
    step.begin({ kind: 'probe', node: name, lost: true }, (work) => ({
      type: 'probeNode',
      work,
      node: step.node(name),
      clearHipCache: false,
      health: true,
      lost: true,
      summary: `probe ${name}, lost in batch ${state.shown?.number ?? 1}`,
    }));
  }
}

/**
 * A growing segment: when fewer first attempts wait than the nodes have slots, the next jobs of
 * the list are read — unless an operator asked for a pause or the run is due to continue as new,
 * where the cluster must drain.
 */
function grow(step: Step<ServingState>): void {
  const { state } = step;
  const plan = state.plan;
  if (!step.policy().grows || state.steering.pauseRequested || state.runDue || state.cursor >= plan.totalJobs) return;
  if (workOf(state, 'load').length > 0) return;
  const slots = plan.nodes.reduce((sum, node) => sum + node.maxConcurrent, 0);
  if (state.queue.filter((entry) => entry.attempt === 1).length >= slots) return;
  const start = state.cursor;
  const end = Math.min(plan.totalJobs, start + SEGMENT_JOBS);
  state.cursor = end;
  step.begin({ kind: 'load', start, end }, (work) => ({ type: 'loadJobs', work, start, end, summary: `the batch grows: jobs ${start + 1}-${end}` }));
}
