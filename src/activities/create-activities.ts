/**
 * The activities of a sweep, built from their dependencies so the worker wires real SSH and a real
 * Temporal client while tests hand in their own. No module-level state.
 */
import type { JobResult, NodeProbe, ResultsJson, RunJobResult } from '../shared/results';
import type { SweepJob } from '../shared/jobs';
import type { SweepNode } from '../shared/nodes';
import type { LoadBatchJobsInput, SweepPlan } from '../shared/sweep-plan';
import { loadJobRange } from '../inputs/load-jobs';
import { redirectOutputs } from '../shared/output-redirect';
import { planSweep } from '../inputs/plan-sweep';
import type { NodeShell } from '../rigs/node-shell';
import { killWaitingJobsCommand } from '../rigs/command';
import { Context } from '@temporalio/activity';
import { classified, hostTrouble } from './failures';
import { warmupGpuActivity, type WarmupResult } from './warm-up';
import { probeNodeActivity } from './probe-node';
import type { ProbeAsk } from '../rigs/node-probe';
import { resetNodeActivity, type ResetNodeResult } from './reset-node';
import { runJobActivity, type RunJobDeps, type RunJobInput } from './run-job';
import { copyOutputHome } from './job-outcome';
import { removeRecordedJobs, removeSweepRecords } from './record-clean-up';
import { writeResultsActivity, type WriteResultsInput } from './write-results';
import { appendJobResults, appendTimeline, startRunRecords } from '../results/run-files';
import type { TimelineEntry } from '../shared/timeline';

/** Whose end records a recording removes: the sweep's, on the nodes that ran the recorded jobs. */
export interface RecordsCleanUp {
  sweepId: string;
  nodes: SweepNode[];
}

export interface ActivityDeps extends RunJobDeps {
  /** Tells a sweep why its file work on this host fails (`resultsHostTroubleSignal`). */
  reportResultsHostTrouble?(workflowId: string, reason: string): Promise<void>;
  /** The worker's `--config`: used when a sweep's input names no `configFile`. */
  defaultConfigFile: string;
  /** Where relative paths in a sweep's input are resolved. */
  cwd: string;
  shellFor(node: SweepNode): NodeShell;
}

export function createActivities(deps: ActivityDeps) {
  /**
   * File work on this host. It heartbeats, so work lost with its worker is retried within the
   * heartbeat timeout rather than its whole start-to-close timeout; and a failure its operator
   * can fix is also told to the sweep, which shows why it waits.
   */
  async function fileWork<T>(body: () => Promise<T>): Promise<T> {
    const context = Context.current();
    context.heartbeat();
    const beat = setInterval(() => context.heartbeat(), 2000);
    try {
      return await classified(body);
    } catch (error) {
      const reason = hostTrouble(error);
      const workflowId = context.info.workflowExecution?.workflowId;
      if (reason && workflowId && deps.reportResultsHostTrouble) await deps.reportResultsHostTrouble(workflowId, reason).catch(() => undefined);
      throw error;
    } finally {
      clearInterval(beat);
    }
  }

  return {
    /**
     * Reads and validates config and jobs on this host, plans the batches and claims the run
     * folder, whose name — from the sweep's start, in this host's local time — is the run id.
     */
    async planSweep(input: unknown, sweepId: string, startedAtMs?: number): Promise<SweepPlan> {
      return fileWork(async () => {
        const sweep = { sweepId, startedAt: new Date(startedAtMs ?? Date.now()), claimRunFolder: true };
        const plan = await planSweep(input, sweep, { configFile: deps.defaultConfigFile, cwd: deps.cwd });
        await startRunRecords(plan.resultsDir);
        // This worker's host keeps the sweep's files from here on: the sweep sends its file work here.
        return deps.workerName ? { ...plan, resultsHost: deps.workerName } : plan;
      });
    },

    /** One batch's jobs, read by index so the workflow never carries the whole list. */
    async loadBatchJobs(input: LoadBatchJobsInput): Promise<SweepJob[]> {
      return fileWork(async () => {
        const jobs = await loadJobRange(input.source, input.start, input.end, input.inlineJobs);
        return input.nodeRunDir ? jobs.map((job) => redirectOutputs(job, input.nodeRunDir!)) : jobs;
      });
    },

    /** Runs one job on one GPU; a failed trial is a result, an unreachable node an error. */
    async runJob(input: RunJobInput): Promise<RunJobResult> {
      return classified(() => runJobActivity(deps, input));
    },

    /** Kills a withdrawn standby's command still waiting on its node; never throws (its activity is cancelled anyway). */
    async withdrawWaitingJob(input: { node: SweepNode; gpu: number; sweepId?: string; runId?: string; jobId: string }): Promise<void> {
      const command = killWaitingJobsCommand(input.sweepId ?? input.runId ?? '', input.gpu, { jobId: input.jobId });
      await deps
        .shellFor(input.node)
        .run(command, { timeoutMs: 30_000 })
        .catch(() => undefined);
    },

    /** sync + drop caches on a rig between batches; never throws. */
    async resetNode(node: SweepNode, cooldownSeconds = 0): Promise<ResetNodeResult> {
      return resetNodeActivity(deps.shellFor(node), node, cooldownSeconds);
    },

    /** The node probe: reachable, and what `ask` adds (HIP cache clear, health_command); never throws but for a cancel. */
    async probeNode(input: { node: SweepNode } & ProbeAsk): Promise<NodeProbe> {
      const { node, ...ask } = input;
      return probeNodeActivity(deps.shellFor(node), node, ask);
    },

    /** Pre-flight: the node's warm-up on one GPU; never throws. */
    async warmupGpu(input: { node: SweepNode; gpu: number; runId: string; sweepId?: string; timeoutSeconds: number }): Promise<WarmupResult> {
      return warmupGpuActivity(deps.shellFor(input.node), input.node, input.gpu, { runId: input.runId, sweepId: input.sweepId }, input.timeoutSeconds);
    },

    /** Fetches a trial's output from its node into the run folder on this host: the trial ran on another worker's host. */
    async collectOutput(input: { node: SweepNode; outputFile: string; resultsDir: string; nodeRunDir?: string }): Promise<string> {
      return fileWork(() => copyOutputHome(deps.shellFor(input.node), input.node, input.outputFile, input));
    },

    /** Appends a finished batch's records to results.jsonl, and what happened around it to timeline.jsonl. */
    async recordJobResults(input: { resultsDir: string; results: JobResult[]; timeline?: TimelineEntry[]; cleanUp?: RecordsCleanUp }): Promise<void> {
      await fileWork(async () => {
        await appendJobResults(input.resultsDir, input.results);
        await appendTimeline(input.resultsDir, input.timeline ?? []);
      });
      // On record now: their end records on the nodes have served.
      if (input.cleanUp) await removeRecordedJobs((node) => deps.shellFor(node), input.cleanUp.sweepId, input.cleanUp.nodes, input.results);
    },

    /** Writes the Results JSON and returns it. */
    async writeResults(input: WriteResultsInput): Promise<ResultsJson> {
      const results = await fileWork(() => writeResultsActivity(input));
      if (input.plan.sweepId) await removeSweepRecords((node) => deps.shellFor(node), input.plan.sweepId, input.plan.nodes);
      return results;
    },
  };
}

export type SweepActivities = ReturnType<typeof createActivities>;

/** What a `--trials-only` worker serves: work on rigs over SSH, nothing that reads or writes a sweep's files. */
export function nodeActivities(activities: SweepActivities): Pick<SweepActivities, NodeActivityName> {
  const names: readonly string[] = NODE_ACTIVITY_NAMES;
  return Object.fromEntries(Object.entries(activities).filter(([name]) => names.includes(name))) as Pick<SweepActivities, NodeActivityName>;
}

const NODE_ACTIVITY_NAMES = ['runJob', 'withdrawWaitingJob', 'resetNode', 'probeNode', 'warmupGpu'] as const;
type NodeActivityName = (typeof NODE_ACTIVITY_NAMES)[number];
