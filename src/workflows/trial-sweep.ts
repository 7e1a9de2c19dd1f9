/**
 * `trialSweep`: the seed's proposal as a durable workflow. Plan on the worker host and check the
 * nodes once (pre-flight); then for each batch — wait while an operator paused the sweep, reset
 * the rigs and cool down (not before the first), fan out one lane per GPU with staggered starts,
 * wait, record the results — and finally write the Results JSON.
 */
import { allHandlersFinished, CancellationScope, CancelledFailure, condition, isCancellation, makeContinueAsNewFunc, patched, setHandler, workflowInfo } from '@temporalio/workflow';
import { jobStartedSignal, progressQuery, resultsQuery } from '../shared/names';
import type { SweepNode } from '../shared/nodes';
import { type BatchRange, SEGMENT_JOBS, shownBatch } from '../shared/planner';
import type { JobResult, ResultsJson } from '../shared/results';
import type { SweepCarry } from '../shared/sweep-carry';
import { DEFAULT_CONTINUE_AS_NEW_AFTER_EVENTS, type SweepInput } from '../shared/sweep-input';
import type { SweepPlan } from '../shared/sweep-plan';
import { bookkeeping } from './activity-proxies';
import { RESULTS_ON_CANCEL_PATCH, runBatch } from './dispatch';
import type { SegmentGrowth } from './growing-segment';
import { probeNodes } from './node-probes';
import { preflight } from './preflight';
import { SweepTracker } from './sweep-tracker';
import { coolDown, resetRigs } from './upkeep';
import { publishCounts, publishPlan, sweepNameOf } from './visibility';

/** Unbatched segments grow while they run instead of draining at their end. */
const GROWING_SEGMENTS_PATCH = 'growing-segments';

/** Job records per `recordJobResults` call: at most ~4 KB each, so a call stays far below 512 KB. */
const RECORDS_PER_CALL = 50;

/**
 * Runs one sweep to its Results JSON; its workflow id is the sweep's identity. A long sweep
 * continues as new between batches (`carry` is what the previous run hands on), so no run's
 * history grows with the sweep.
 */
export async function trialSweep(input: SweepInput, carry?: SweepCarry): Promise<ResultsJson> {
  const tracker = new SweepTracker();
  setHandler(progressQuery, (afterSeq) => tracker.progress(afterSeq ?? 0));
  setHandler(jobStartedSignal, ({ startKey, startedAtMs }) => void tracker.startedKeys.set(startKey, startedAtMs));

  setHandler(resultsQuery, () => tracker.finalResults);

  /** Set once planned: from then on a cancel still writes the Results JSON. */
  let plan = carry ? tracker.resume(carry) : undefined;
  let stoppedReason: string | undefined;
  let index = carry?.nextBatch ?? 0;
  try {
    plan ??= await planAndCheck(input, tracker, (planned) => (plan = planned));
    for (let next = carry?.nextJob ?? 0; next < plan.totalJobs && !stoppedReason; index++) {
      if (index > 0) await pauseResetAndCoolDown(plan, index, tracker);
      if (index > 0) await probeNodes(plan, index + 1, tracker);
      const { batch, perNodeCap } = await nextBatch(plan, index, next, tracker);
      const { results, started } = await runAndRecordBatch(plan, batch, perNodeCap, input, tracker);
      next = batch.start + started;
      stoppedReason = failedTooMuch(plan, batch, results, next);
      if (!stoppedReason && next < plan.totalJobs && timeToContinueAsNew(input)) {
        // Nothing runs here: every job of the batch has its result. Let running updates answer first.
        await condition(allHandlersFinished);
        const { memo, typedSearchAttributes } = workflowInfo();
        return makeContinueAsNewFunc<typeof trialSweep>({ memo, typedSearchAttributes })(input, tracker.toCarry(plan, index + 1, next));
      }
    }
  } catch (error) {
    // Cancelled: every job has killed its processes by now. The sweep still ends cancelled, with
    // its partial Results JSON written (and answered by the `results` query).
    if (isCancellation(error) && plan && patched(RESULTS_ON_CANCEL_PATCH)) {
      const planned = plan;
      await CancellationScope.nonCancellable(() => writeResults(planned, tracker, tracker.batch, 'cancelled; no further job was started'));
    }
    throw error;
  }
  // Every job has its result: a cancel from here on still gets the whole Results JSON, then ends the sweep as cancelled.
  const finalPlan = plan;
  const results = await CancellationScope.nonCancellable(() => writeResults(finalPlan, tracker, finalPlan.perNodeCap === null ? 1 : index, stoppedReason));
  if (CancellationScope.current().consideredCancelled) throw new CancelledFailure('cancelled after its last job ended; the Results JSON is complete');
  return results;
}

/** The Results JSON, from every record in results.jsonl; `batches` is how many batches ran. */
async function writeResults(plan: SweepPlan, tracker: SweepTracker, batches: number, stoppedReason: string | undefined): Promise<ResultsJson> {
  tracker.phase = 'writing results';
  const { warnings, preflight: checks, startedAtMs } = tracker;
  const quarantined = [...tracker.steering.quarantined].map(([node, reason]) => ({ node, reason }));
  const results = await bookkeeping.writeResults({ plan, startedAtMs, warnings, stoppedReason, preflight: checks, batches, quarantined });
  tracker.phase = 'done';
  tracker.finalResults = results;
  tracker.refreshDetails();
  return results;
}

/**
 * The first run: plan on the worker host, check the nodes, publish what Temporal Web shows.
 * `onPlanned` hears of the plan before pre-flight, so a cancel there still writes the results.
 */
async function planAndCheck(input: SweepInput, tracker: SweepTracker, onPlanned: (plan: SweepPlan) => void): Promise<SweepPlan> {
  const { workflowId, startTime } = workflowInfo();
  const planned = await bookkeeping.planSweep(input, workflowId, startTime.getTime());
  onPlanned(planned);
  Object.assign(tracker, { sweepName: sweepNameOf(planned.jobSource), resultsDir: planned.resultsDir, runId: planned.runId, totalJobs: planned.totalJobs });
  const plan = await preflight(planned, tracker);
  tracker.nodes.setNodes(planned.nodes, plan.nodes);
  tracker.steering.begin(plan);
  tracker.batchCount = plan.perNodeCap === null ? 1 : plan.batches.length;
  publishPlan(plan, tracker);
  return plan;
}

/** Temporal suggests it, or the run's history passed the sweep's limit (default 5,000 events). */
function timeToContinueAsNew(input: SweepInput): boolean {
  const { continueAsNewSuggested, historyLength } = workflowInfo();
  const due = continueAsNewSuggested || historyLength >= (input.continueAsNewAfterEvents ?? DEFAULT_CONTINUE_AS_NEW_AFTER_EVENTS);
  // Behind a patch: a run recorded before this code must replay without the new command.
  return due && patched('continue-as-new-between-batches');
}

/**
 * The batch starting at job `next`: as planned, unless an operator changed the numbers or the
 * nodes in service — then as many jobs as the live numbers allow over the nodes in service.
 */
async function nextBatch(plan: SweepPlan, index: number, next: number, tracker: SweepTracker): Promise<{ batch: BatchRange; perNodeCap: number }> {
  const { steering } = tracker;
  if (plan.perNodeCap === null || plan.batching.mode === 'rolling') {
    await untilSomeNodeInService(tracker);
    const segment = { index, start: next, end: Math.min(plan.totalJobs, next + SEGMENT_JOBS) };
    if (plan.perNodeCap !== null) tracker.batchCount = index + Math.ceil((plan.totalJobs - next) / SEGMENT_JOBS);
    return { batch: plan.perNodeCap === null ? { ...segment, number: 1 } : segment, perNodeCap: Infinity };
  }
  const planned = plan.batches[index];
  if (!steering.replanNeeded && planned?.start === next) return { batch: planned, perNodeCap: plan.perNodeCap };
  await untilSomeNodeInService(tracker);
  const { max_jobs_per_batch, max_jobs_per_node_per_batch } = steering.settings!;
  const size = Math.min(max_jobs_per_batch, max_jobs_per_node_per_batch * steering.activeNodes().length);
  tracker.batchCount = index + Math.ceil((plan.totalJobs - next) / size);
  return { batch: { index, start: next, end: Math.min(plan.totalJobs, next + size) }, perNodeCap: max_jobs_per_node_per_batch };
}

async function untilSomeNodeInService(tracker: SweepTracker): Promise<void> {
  if (tracker.steering.activeNodes().length > 0) return;
  tracker.waitingFor = 'a node in service (every node is excluded; readmit one)';
  tracker.refreshDetails();
  await tracker.steering.untilSomeNodeActive();
  tracker.waitingFor = null;
}

/** Between batches: a pause if an operator asked for one; then, in barrier mode, every rig drops its caches and a durable cooldown. */
async function pauseResetAndCoolDown(plan: SweepPlan, index: number, tracker: SweepTracker): Promise<void> {
  const { steering } = tracker;
  if (steering.pauseRequested) {
    const pausedAt = Date.now();
    tracker.phase = 'paused';
    tracker.refreshDetails();
    await steering.untilResumed();
    tracker.addTimeline({ kind: 'pause', batch: index + 1, start_ms: pausedAt, end_ms: Date.now() });
  }
  // Rolling mode: each node resets and cools down on its own, after its cap of jobs (node-cycle.ts).
  if (plan.batching.mode === 'rolling') return;
  if (plan.resetBetweenBatches) {
    tracker.phase = 'resetting';
    const rigs = plan.nodes.filter((node) => !node.isLocal && !steering.isNodeExcluded(node));
    const labels = { batch: index + 1, resetSummary: (node: SweepNode) => `reset ${node.name} before batch ${index + 1}`, warningPrefix: `before batch ${index + 1}` };
    await resetRigs(rigs, labels, tracker);
  }
  const cooldownSeconds = steering.settings!.inter_batch_cooldown_seconds;
  if (cooldownSeconds > 0) {
    tracker.phase = 'cooling down';
    await coolDown(plan.nodes, cooldownSeconds, { batch: index + 1, summary: `cooldown after batch ${index}` }, tracker);
  }
}

/** Why no further batch should start, when this one failed above `max_fail_percentage`. */
function failedTooMuch(plan: SweepPlan, batch: BatchRange, results: JobResult[], next: number): string | undefined {
  const limit = plan.batching.max_fail_percentage;
  const failed = results.filter((result) => !result.success).length;
  const percent = (100 * failed) / Math.max(1, results.length);
  // A sweep without batches is one batch: there is no further batch not to start.
  if (limit === undefined || plan.perNodeCap === null || percent <= limit || next >= plan.totalJobs) return undefined;
  return `batch ${shownBatch(batch)}: ${failed} of ${results.length} jobs failed (${Math.round(percent)}%), above max_fail_percentage ${limit}; no further batch was started`;
}

/** Jobs `start` to `end` (exclusive) of the sweep's list, read by an activity. */
function loadJobs(plan: SweepPlan, input: SweepInput, batchLabel: string, start: number, end: number) {
  const inlineJobs = plan.jobSource.kind === 'inline' ? input.jobs?.slice(start, end) : undefined;
  return bookkeeping.loadBatchJobs.executeWithOptions({ summary: `${batchLabel}: jobs ${start + 1}-${end}` }, [{ source: plan.jobSource, start, end, inlineJobs, nodeRunDir: plan.nodeRunDir }]);
}

/**
 * An unbatched segment grows by the next jobs of the list until the run is due to continue as new
 * or an operator asks for a pause (behind a patch: runs recorded before it drained at every
 * segment's end).
 */
function segmentGrowth(plan: SweepPlan, batch: BatchRange, input: SweepInput, tracker: SweepTracker): SegmentGrowth | undefined {
  if (plan.perNodeCap !== null || plan.batching.mode === 'rolling' || !patched(GROWING_SEGMENTS_PATCH)) return undefined;
  return {
    async more(start) {
      if (start >= plan.totalJobs || tracker.steering.pauseRequested || timeToContinueAsNew(input)) return null;
      return loadJobs(plan, input, 'the batch grows', start, Math.min(plan.totalJobs, start + SEGMENT_JOBS));
    },
  };
}

/**
 * Loads a batch's jobs, runs them over every node, and appends their records to results.jsonl. A
 * sweep without batches is one batch to its users, however many internal segments it runs in:
 * its start is announced with the first segment, its end with the last.
 */
async function runAndRecordBatch(plan: SweepPlan, batch: BatchRange, perNodeCap: number, input: SweepInput, tracker: SweepTracker) {
  const number = shownBatch(batch);
  const oneBatch = plan.perNodeCap === null;
  const jobs = await loadJobs(plan, input, `batch ${number}/${tracker.batchCount}`, batch.start, batch.end);
  tracker.phase = 'running';
  tracker.batch = number;
  publishCounts(tracker);
  if (!oneBatch || batch.start === 0) tracker.record({ kind: 'batch-start', batch: number, batchCount: tracker.batchCount, jobs: oneBatch ? plan.totalJobs : jobs.length });
  const batchStart = Date.now();
  const finished: JobResult[] = [];
  let outcome: Awaited<ReturnType<typeof runBatch>>;
  try {
    outcome = await runBatch(plan, batch, jobs, tracker, perNodeCap, finished, segmentGrowth(plan, batch, input, tracker));
  } catch (error) {
    // A cancel must not lose the jobs of this batch that had finished before it.
    if (isCancellation(error) && patched(RESULTS_ON_CANCEL_PATCH)) await CancellationScope.nonCancellable(() => recordBatch(plan, batch, finished, tracker));
    throw error;
  }
  tracker.addTimeline({ kind: 'batch', batch: number, start_ms: batchStart, end_ms: Date.now() });
  if (!oneBatch) tracker.record({ kind: 'batch-end', batch: number, successful: outcome.results.filter((r) => r.success).length, jobs: outcome.results.length });
  else if (batch.start + outcome.started >= plan.totalJobs) tracker.record({ kind: 'batch-end', batch: number, successful: tracker.done - tracker.failed, jobs: tracker.done });
  // Not cancellable: a cancel now must not lose the batch's records, nor race their append.
  await CancellationScope.nonCancellable(() => recordBatch(plan, batch, outcome.results, tracker));
  publishCounts(tracker);
  return outcome;
}

/** Appends the batch's records (and the timeline so far) to results.jsonl, in chunks: a segment's 100 records with stderr tails and diagnoses could pass the payload warning. */
async function recordBatch(plan: SweepPlan, batch: BatchRange, results: JobResult[], tracker: SweepTracker): Promise<void> {
  const timeline = tracker.takeTimeline();
  for (let first = 0; first === 0 || first < results.length; first += RECORDS_PER_CALL) {
    const chunk = results.slice(first, first + RECORDS_PER_CALL);
    await bookkeeping.recordJobResults.executeWithOptions({ summary: `batch ${shownBatch(batch)}: record ${chunk.length} results` }, [
      { resultsDir: plan.resultsDir, results: chunk, timeline: first === 0 ? timeline : [] },
    ]);
  }
}
