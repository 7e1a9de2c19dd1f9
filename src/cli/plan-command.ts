/**
 * `rigsweep plan` (and `run`/`start --dry-run`): the exact plan of a sweep — batch, node, GPU and
 * planned start of every job, with an ETA from an expected trial duration — without a Temporal
 * server and without starting anything. Bad input exits 2, exactly as `run` would.
 */
import { loadJobRange } from '../inputs/load-jobs';
import { simulateSweep, type SimulatedSweep } from '../shared/dispatch/ideal-run';
import type { SweepPlan } from '../shared/sweep-plan';
import { EXIT } from './exit-codes';
import { defaultWorkflowId, type SweepFlags, sweepInputFromFlags, validateSweep } from './sweep-request';

export const DEFAULT_EXPECTED_TRIAL_SECONDS = 60;

export interface PlanFlags extends SweepFlags {
  expectedTrialSeconds?: number;
}

const out = (line: string) => process.stdout.write(line + '\n');
const err = (line: string) => process.stderr.write(line + '\n');

/** Prints the plan as a table, then `Dry run JSON:` and the JSON, the last thing on stdout. */
export async function planCommand(flags: PlanFlags): Promise<number> {
  const input = sweepInputFromFlags(flags);
  const plan = await validateSweep(input);
  for (const skipped of plan.skippedNodes) err(`notice: node ${skipped.name} skipped: ${skipped.reason}`);
  const workflowId = flags.workflowId ?? defaultWorkflowId(input, plan);
  const trialSeconds = flags.expectedTrialSeconds ?? DEFAULT_EXPECTED_TRIAL_SECONDS;
  const jobIds = (await loadJobRange(plan.jobSource, 0, plan.totalJobs)).map((job) => job.job_id);
  const sweep = simulateSweep(plan, jobIds, { trialSeconds });

  // The run id is a preview: a sweep started now would take it, or the next free `_2`, `_3`, ...
  const batches = sweep.batches.length;
  out(
    `Plan of ${workflowId} (run ${plan.runId}): ${plan.totalJobs} jobs in ${batches === 1 ? '1 batch' : `${batches} batches`} on ${plan.nodes.length} nodes (nothing started)`,
  );
  for (const line of planTable(sweep)) out(line);
  out(`ETA: ${formatDuration(sweep.makespan)} (expected trial ${trialSeconds}s)`);
  out('Dry run JSON:');
  out(JSON.stringify(dryRunJson(plan, workflowId, trialSeconds, sweep), null, 2));
  return EXIT.ok;
}

/** One block per batch, in the seed's words, each job on its node and GPU with its planned start. */
function planTable(sweep: SimulatedSweep): string[] {
  return sweep.batches.flatMap((batch) => [
    `[BATCH ${batch.batch}/${sweep.batches.length}] ${batch.jobs} jobs, starts at +${batch.start.toFixed(1)}s`,
    ...sweep.jobs.filter((job) => job.batch === batch.batch).map((job) => `  ${job.jobId} → ${job.node}:GPU${job.gpu} at +${job.start.toFixed(1)}s`),
  ]);
}

/** The seed's dry-run JSON: every node's jobs (nodes in config order, jobs in start order). */
function dryRunJson(plan: SweepPlan, workflowId: string, trialSeconds: number, sweep: SimulatedSweep) {
  const assignments = Object.fromEntries(
    plan.nodes.map((node) => [
      node.name,
      sweep.jobs
        .filter((job) => job.node === node.name)
        .map((job) => ({ job_id: job.jobId, batch: job.batch, gpu_id: job.gpu, planned_start_s: job.start, planned_end_s: job.end })),
    ]),
  );
  return {
    status: 'dry_run',
    run_id: plan.runId,
    workflow_id: workflowId,
    total_jobs: plan.totalJobs,
    eta_seconds: sweep.makespan,
    expected_trial_seconds: trialSeconds,
    batches: sweep.batches.length,
    assignments,
  };
}

/** `12.8s` under a minute, else `3m 55s` or `2h 5m 0s`. */
function formatDuration(seconds: number): string {
  if (seconds < 60) return `${Number(seconds.toFixed(1))}s`;
  const whole = Math.round(seconds);
  const [h, m, s] = [Math.floor(whole / 3600), Math.floor((whole % 3600) / 60), whole % 60];
  return h > 0 ? `${h}h ${m}m ${s}s` : `${m}m ${s}s`;
}
