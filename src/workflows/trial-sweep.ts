/**
 * `trialSweep`: the seed's proposal as a durable workflow. Plan on the worker host and check the
 * nodes once (pre-flight); then for each batch — reset the rigs and cool down (not before the
 * first), fan out one lane per GPU with staggered starts, wait, record the results — and finally
 * write the Results JSON.
 */
import { setHandler, sleep, workflowInfo } from '@temporalio/workflow';
import { jobStartedSignal, progressQuery } from '../shared/names';
import type { BatchRange } from '../shared/planner';
import type { JobResult, ResultsJson } from '../shared/results';
import type { SweepInput } from '../shared/sweep-input';
import type { SweepPlan } from '../shared/sweep-plan';
import { bookkeeping, upkeep } from './activity-proxies';
import { runBatch } from './dispatch';
import { preflight } from './preflight';
import { SweepTracker } from './sweep-tracker';


/** Runs one sweep to its Results JSON; its workflow id is the sweep's run_id. */
export async function trialSweep(input: SweepInput): Promise<ResultsJson> {
  const startedAtMs = Date.now();
  const tracker = new SweepTracker();
  setHandler(progressQuery, (afterSeq) => tracker.progress(afterSeq ?? 0));
  setHandler(jobStartedSignal, ({ startKey }) => void tracker.startedKeys.add(startKey));

  const plan = await preflight(await bookkeeping.planSweep(input, workflowInfo().workflowId), tracker);
  tracker.totalJobs = plan.totalJobs;
  tracker.batchCount = plan.batches.length;
  let stoppedReason: string | undefined;
  for (const batch of plan.batches) {
    if (batch.index > 0) await resetAndCoolDown(plan, batch, tracker);
    stoppedReason = failedTooMuch(plan, batch, await runAndRecordBatch(plan, batch, input, tracker));
    if (stoppedReason) break;
  }
  tracker.phase = 'writing results';
  const { warnings, preflight: checks } = tracker;
  const results = await bookkeeping.writeResults({ plan, startedAtMs, warnings, stoppedReason, preflight: checks });
  tracker.phase = 'done';
  return results;
}

/** Between batches: every rig drops its caches (failures are warnings), then a durable cooldown. */
async function resetAndCoolDown(plan: SweepPlan, batch: BatchRange, tracker: SweepTracker): Promise<void> {
  if (plan.resetBetweenBatches) {
    tracker.phase = 'resetting';
    const rigs = plan.nodes.filter((node) => !node.isLocal);
    const outcomes = await Promise.all(
      rigs.map((node) =>
        upkeep.resetNode(node).catch((error: Error) => ({ node: node.name, ok: false, message: `reset failed: ${error.message}` })),
      ),
    );
    for (const outcome of outcomes) {
      tracker.record({ kind: 'reset', batch: batch.index, ...outcome });
      if (!outcome.ok) tracker.warnings.push(`before batch ${batch.index + 1}: ${outcome.node}: ${outcome.message}`);
    }
  }
  if (plan.cooldownSeconds > 0) {
    tracker.phase = 'cooling down';
    tracker.record({ kind: 'cooldown', batch: batch.index, seconds: plan.cooldownSeconds });
    await sleep(plan.cooldownSeconds * 1000, { summary: `cooldown after batch ${batch.index}` });
  }
}

/** Why no further batch should start, when this one failed above `max_fail_percentage`. */
function failedTooMuch(plan: SweepPlan, batch: BatchRange, results: JobResult[]): string | undefined {
  const limit = plan.batching.max_fail_percentage;
  const failed = results.filter((result) => !result.success).length;
  const percent = (100 * failed) / Math.max(1, results.length);
  if (limit === undefined || percent <= limit || batch.index === plan.batches.length - 1) return undefined;
  return `batch ${batch.index + 1}: ${failed} of ${results.length} jobs failed (${Math.round(percent)}%), above max_fail_percentage ${limit}; no further batch was started`;
}

/** Loads a batch's jobs, runs them over every node, and appends their records to results.jsonl. */
async function runAndRecordBatch(plan: SweepPlan, batch: BatchRange, input: SweepInput, tracker: SweepTracker): Promise<JobResult[]> {
  const inlineJobs = plan.jobSource.kind === 'inline' ? input.jobs?.slice(batch.start, batch.end) : undefined;
  const jobs = await bookkeeping.loadBatchJobs({ source: plan.jobSource, start: batch.start, end: batch.end, inlineJobs, nodeRunDir: plan.nodeRunDir });
  tracker.phase = 'running';
  tracker.batch = batch.index + 1;
  tracker.record({ kind: 'batch-start', batch: batch.index + 1, batchCount: plan.batches.length, jobs: jobs.length });
  const results = await runBatch(plan, batch, jobs, tracker);
  tracker.record({ kind: 'batch-end', batch: batch.index + 1, successful: results.filter((r) => r.success).length, jobs: results.length });
  await bookkeeping.recordJobResults({ resultsDir: plan.resultsDir, results });
  return results;
}
