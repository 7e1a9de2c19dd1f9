/**
 * Inside a batch: one lane per GPU, every node fed from the batch's queue as its lanes free up,
 * and no two job starts on one node closer than its `stagger_delay` — timed from the previous
 * job's confirmed start, with a durable timer, because simultaneous HIP initialisations froze rigs.
 */
import { condition, patched, sleep } from '@temporalio/workflow';
import type { SweepJob } from '../shared/jobs';
import type { SweepNode } from '../shared/nodes';
import type { BatchRange } from '../shared/planner';
import type { JobResult } from '../shared/results';
import type { SweepPlan } from '../shared/sweep-plan';
import { heldForLater, throwFirstFailure } from './cancellation';
import { GpuLanes } from './gpu-lanes';
import { growSegment, type SegmentGrowth } from './growing-segment';
import { type BatchContext, dispatchAttempt } from './job-attempt';
import { cycleDue, cycleNode } from './node-cycle';
import type { SweepTracker } from './sweep-tracker';

/** Cancels that keep every finished job on record and write the partial Results JSON. */
export const RESULTS_ON_CANCEL_PATCH = 'results-on-cancel';
/** Busy GPUs of unstaggered nodes take their next job ahead, as a standby (issue 6). */
export const STANDBY_PATCH = 'gpu-standby';
/** A stagger timer counts from the job's start as the worker saw it, not from the workflow hearing of it. */
export const STAGGER_FROM_START_PATCH = 'stagger-from-start';
/**
 * How much earlier than the stagger a node's next job is sent: about a dispatch's round trip, so
 * it arrives as the spacing ends. The node's start permit holds it until exactly then.
 */
const DISPATCH_LEAD_MS = 250;

export interface BatchOutcome {
  /** Final results in job order. */
  results: JobResult[];
  /**
   * How many of the batch's jobs were started. Fewer than all when operators excluded nodes so
   * that the rest cannot take them within their per-batch caps: those jobs go to the next batch.
   */
  started: number;
}

/**
 * Runs one batch's jobs (and their retries) over all nodes in service. `finished` receives each
 * job's final result as it comes, so a cancelled batch still has its records. With `growth` (an
 * unbatched segment) more jobs join `jobs` while it runs.
 */
export async function runBatch(plan: SweepPlan, batch: BatchRange, jobs: SweepJob[], tracker: SweepTracker, perNodeCap: number, finished: JobResult[] = [], growth?: SegmentGrowth): Promise<BatchOutcome> {
  const rolling = plan.batching.mode === 'rolling' && plan.perNodeCap !== null;
  const context: BatchContext = {
    plan, batch, tracker, perNodeCap, rolling,
    // Not in rolling mode: a node there drains before its reset, and a standby would delay that.
    standbys: !rolling && patched(STANDBY_PATCH),
    queue: jobs.map((job) => ({ job, attempt: 1, previous: [] })),
    firstAttempts: new Map(),
    inFlight: 0,
    growing: Boolean(growth),
    results: finished,
    background: [],
    over: false,
  };
  if (growth) context.background.push(heldForLater(growSegment(context, growth, jobs)));
  const feeds = plan.nodes.map((node) => feedNode(node, context));
  // Settled, not raced: on a cancel every node's jobs must have killed their processes before the
  // sweep records its partial results. Behind the patch of that change: a run recorded before it
  // ended at the first node that failed.
  if (!patched(RESULTS_ON_CANCEL_PATCH)) await Promise.all(feeds);
  const fed = await Promise.allSettled(feeds);
  context.over = true;
  // The growing segment and probes of lost nodes: a load that failed must not pass unseen.
  throwFirstFailure([...fed, ...(await Promise.allSettled(context.background))]);
  giveUpStrandedRetries(context);
  const order = new Map(jobs.map((job, index) => [job.job_id, index]));
  const started = jobs.length - context.queue.filter((entry) => entry.attempt === 1).length;
  return { results: context.results.sort((a, b) => order.get(a.job_id)! - order.get(b.job_id)!), started };
}

/** Whether `node` may start the queue's entry: in service, and a first attempt only within its cap. */
function mayTake(node: SweepNode, attempt: number, context: BatchContext): boolean {
  const { steering, running } = context.tracker;
  if (steering.isNodeExcluded(node)) return false;
  // Rolling: no batch bounds the cluster's load, so at most max_jobs_per_batch run at once.
  if (context.rolling) return running < steering.settings!.max_jobs_per_batch;
  return attempt > 1 || (context.firstAttempts.get(node.name) ?? 0) < context.perNodeCap;
}

/**
 * Nothing runs, and nothing left in the queue can start anywhere. First attempts nobody may take
 * go to the next batch; a retry has no later batch, so it waits for a node back in service — as
 * long as some node is not quarantined.
 */
function batchDone(context: BatchContext): boolean {
  if (context.inFlight > 0 || context.growing) return false;
  const someNodeMayReturn = context.plan.nodes.some((node) => !context.tracker.steering.quarantined.has(node.name));
  return context.queue.every((entry) => !(entry.attempt > 1 && someNodeMayReturn) && !context.plan.nodes.some((node) => mayTake(node, entry.attempt, context)));
}

/** Retries no node is left to run: their last attempt is their final result. */
function giveUpStrandedRetries(context: BatchContext): void {
  for (const entry of context.queue.filter((queued) => queued.attempt > 1 && queued.last)) {
    const final: JobResult = { ...entry.last!, attempts: entry.previous };
    context.tracker.jobFinished(final);
    context.results.push(final);
  }
}

/**
 * The wait before a node's next dispatch: its stagger, less the time the start took to reach the
 * workflow and a dispatch's lead — the node's start permit keeps the exact spacing, across sweeps.
 * Sweeps recorded before this waited the whole stagger after hearing of the start.
 */
function staggerWaitMs(stagger: number, startedAtMs: number | undefined): number {
  if (startedAtMs === undefined || !patched(STAGGER_FROM_START_PATCH)) return stagger * 1000;
  const heardAfterMs = Math.max(0, Date.now() - startedAtMs);
  return Math.round(Math.max(0, stagger * 1000 - heardAfterMs - DISPATCH_LEAD_MS));
}

/**
 * Starts jobs on one node, one at a time, spaced by the node's stagger, until the batch is done.
 * A node takes at most its per-batch cap of first attempts; a retry may go to any node, since
 * it replaces load the batch already had.
 */
async function feedNode(node: SweepNode, context: BatchContext): Promise<void> {
  const { steering } = context.tracker;
  // A staggered node times each start from the previous one's confirmed start: no standby there.
  const standby = () => context.standbys && steering.staggerSeconds(node) === 0;
  const lanes = new GpuLanes(node, (gpu) => steering.isGpuExcluded(node, gpu), standby);
  const running: Promise<unknown>[] = [];
  const nextTakeable = () => context.queue.findIndex((entry) => mayTake(node, entry.attempt, context));
  try {
    for (;;) {
      await condition(() => batchDone(context) || (lanes.canStart() && nextTakeable() >= 0));
      if (batchDone(context)) break;
      // Woken together with other nodes: one of them may have taken the job first.
      const index = nextTakeable();
      if (index < 0 || !lanes.canStart()) continue;
      if (context.rolling && cycleDue(node, context.tracker)) {
        await cycleNode(node, lanes, context);
        continue;
      }
      const [entry] = context.queue.splice(index, 1);
      if (entry.attempt === 1) context.firstAttempts.set(node.name, (context.firstAttempts.get(node.name) ?? 0) + 1);
      if (context.rolling) context.tracker.cycleStarts.set(node.name, (context.tracker.cycleStarts.get(node.name) ?? 0) + 1);
      const seat = lanes.seat(entry.avoid?.node === node.name ? entry.avoid.gpu : undefined);
      const { gpu } = seat;
      const { confirmed, finished, settled } = dispatchAttempt(node, gpu, entry, context, seat.ahead?.ended, standby());
      seat.ended = finished;
      void confirmed.then((startedAtMs) => startedAtMs !== undefined && lanes.started(seat), () => undefined); // rejected by a cancel
      running.push(finished.then(() => lanes.release(seat)), settled);
      // Without a stagger there is no spacing to keep: the next start need not wait for this one.
      const stagger = steering.staggerSeconds(node);
      if (stagger > 0) {
        const waitMs = staggerWaitMs(stagger, await confirmed);
        if (!batchDone(context) && waitMs > 0) await sleep(waitMs, { summary: `stagger ${node.name}` });
      }
    }
  } finally {
    // Also when the sweep is cancelled: end only once every job here has killed its processes.
    throwFirstFailure(await Promise.allSettled(running));
  }
}
