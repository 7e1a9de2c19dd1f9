/**
 * A cancel ends a sweep as cancelled, whatever it was doing, with nothing it started left on any
 * node: the user's own case (staggered nodes, jobs waiting for a GPU), and one cancel per phase of
 * a sweep on staggered nodes. Processes are counted from outside, on the nodes.
 */
import { join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { liveTrialProcesses, watchTrialsAfterCancel } from '../harness/chaos-report';
import { collectRuns, startTestCluster, startWorkerProcess, sweepResult, temporalCli, waitUntil, writeJobs, writeUserConfig, type TestCluster } from '../harness/sweep-fixture';

let cluster: TestCluster;

beforeAll(async () => {
  cluster = await startTestCluster('cancel', inject('temporalAddress'), { rigCount: 2, localGpus: 2, rigGpus: 3, stagger: 0.2 });
});

afterAll(async () => {
  await cluster?.rigs.stop();
});

const jobs = (prefix: string, count: number, sleep: string) =>
  Array.from({ length: count }, (_, i) => ({
    job_id: `${prefix}${i}`,
    script: 'fake_trial.py',
    args: ['--job', `${prefix}${i}`, '--sleep', sleep, '--output', `out/${prefix}${i}.json`],
    expected_output: `out/${prefix}${i}.json`,
  }));

const runsOf = (prefix: string) => collectRuns(cluster.nodes).filter((run) => new RegExp(`^${prefix}\\d+$`).test(run.jobId));

/** How the sweep ended: 'cancelled', or what else happened. */
async function ending(workflowId: string): Promise<string> {
  return sweepResult(cluster.env, workflowId).then(
    () => 'completed',
    (error: unknown) => (error instanceof WorkflowFailedError && error.cause instanceof CancelledFailure ? 'cancelled' : `failed: ${(error as Error).message}`),
  );
}

describe('a cancel on staggered nodes', () => {
  it('ends the sweep cancelled and kills every trial while jobs wait for a GPU (the reported case)', async () => {
    const { env, work, configNodes } = cluster;
    const config = writeUserConfig(work, 'waiting.json', {
      nodes: configNodes,
      job_batching: { enabled: true, max_jobs_per_batch: 20, max_jobs_per_node_per_batch: 6 },
    });
    const worker = await startWorkerProcess(config, env, work);
    try {
      const id = 'cancel-while-waiting';
      const input = { jobsFile: writeJobs(work, 'waiting-jobs.json', jobs('waiting', 16, '120')), outputDir: join(work, 'results'), preservePaths: true };
      const started = await temporalCli(['workflow', 'start', '--type', 'trialSweep', '--task-queue', env.taskQueue, '--workflow-id', id, '--input', JSON.stringify(input)], env);
      expect(started.exitCode, started.stderr).toBe(0);
      await waitUntil('8 trials to run on the 8 GPUs', () => runsOf('waiting').length >= 8, 30_000);
      const cancelledAt = Date.now();
      const afterCancel = watchTrialsAfterCancel(() => liveTrialProcesses(runsOf('waiting').map((run) => run.startRecord.pid), 'waiting'), cancelledAt);
      const cancel = await temporalCli(['workflow', 'cancel', '--workflow-id', id], env);
      expect(cancel.exitCode, cancel.stderr).toBe(0);
      const ended = await Promise.race([ending(id), new Promise<string>((resolve) => setTimeout(() => resolve('still running 15 s after the cancel'), 15_000))]);
      expect(ended).toBe('cancelled');
      expect(Date.now() - cancelledAt).toBeLessThan(15_000);
      expect((await afterCancel).orphans).toBe(0);
      expect(runsOf('waiting')).toHaveLength(8);
    } finally {
      await worker.stop();
    }
  });
});
