/**
 * A cancel ends a sweep as cancelled, whatever it was doing, with nothing it started left on any
 * node: the reported case (staggered nodes, jobs waiting for a GPU), then one cancel per phase of a
 * sweep on staggered nodes — pre-flight, warm-up, stagger wait, retry backoff, reset, cooldown,
 * and after the last job ended — through `temporal workflow cancel`, `rigsweep cancel` and Ctrl-C
 * on `rigsweep run`. Processes are counted from outside, on the nodes.
 */
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { progressQuery } from '../../src/shared/names';
import type { ResultsJson } from '../../src/shared/results';
import { jobsFinishedButNotRecorded, jobsRunTwiceAtOnce, liveTrialProcesses, reportChaos, watchTrialsAfterCancel } from '../harness/chaos-report';
import { readJson } from '../harness/read-json';
import { readCalls } from '../harness/rigs';
import { runCli, startWorkerProcess, sweepResult, temporalCli, sweepArgs } from '../harness/cli';
import { collectRuns, runFolder, startTestCluster, waitUntil, writeJobs, writeUserConfig, type TestCluster } from '../harness/sweep-fixture';

let cluster: TestCluster;
let worker: Awaited<ReturnType<typeof startWorkerProcess>>;
let connection: Connection;

beforeAll(async () => {
  cluster = await startTestCluster('cancel', inject('temporalAddress'), { rigCount: 2, localGpus: 2, rigGpus: 3, stagger: 0.2 });
  worker = await startWorkerProcess(writeUserConfig(cluster.work, 'worker.json', { nodes: cluster.configNodes }), cluster.env, cluster.work);
  connection = await Connection.connect({ address: cluster.env.temporalAddress });
});

afterAll(async () => {
  await connection?.close();
  await worker?.stop();
  await cluster?.rigs.stop();
});

const jobs = (prefix: string, count: number, sleep: string, extra: string[] = []) =>
  Array.from({ length: count }, (_, i) => ({
    job_id: `${prefix}${i}`,
    script: 'fake_trial.py',
    args: ['--job', `${prefix}${i}`, '--sleep', sleep, '--output', `out/${prefix}${i}.json`, ...extra],
    expected_output: `out/${prefix}${i}.json`,
  }));

const runsOf = (prefix: string) => collectRuns(cluster.nodes).filter((run) => new RegExp(`^${prefix}\\d+$`).test(run.jobId));

/** Processes of the sweep still alive on any node: its trials and warm-ups (by `--job <prefix>N`) and its resets. */
function leftOnNodes(prefix: string): number[] {
  const resets = spawnSync('pgrep', ['-f', 'drop_caches'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map(Number);
  return [
    ...liveTrialProcesses(
      runsOf(prefix).map((run) => run.startRecord.pid),
      prefix,
    ),
    ...resets,
  ];
}

type CancelWay = 'temporal workflow cancel' | 'rigsweep cancel';

/** How the sweep ended within 15 s of `since`: 'cancelled', or what happened instead. */
async function endingWithin15s(workflowId: string, since: number): Promise<string> {
  const ended = sweepResult(cluster.env, workflowId).then(
    () => 'completed',
    (error: unknown) => (error instanceof WorkflowFailedError && error.cause instanceof CancelledFailure ? 'cancelled' : `failed: ${(error as Error).message}`),
  );
  const late = new Promise<string>((resolve) => setTimeout(() => resolve('still running 15 s after the cancel'), Math.max(0, since + 15_000 - Date.now())));
  return Promise.race([ended, late]);
}

/**
 * Starts a sweep with `rigsweep start`, cancels it the given way once `ready` holds, and checks
 * what the issue asks of every cancel: the sweep ends cancelled within 15 s and nothing it started
 * is left on a node. Returns the workflow id.
 */
async function startThenCancel(
  name: string,
  phase: string,
  config: Record<string, unknown>,
  sweepJobs: unknown[],
  ready: (id: string) => Promise<boolean> | boolean,
  way: CancelWay,
): Promise<string> {
  const { env, work } = cluster;
  const configFile = writeUserConfig(work, `${name}.json`, config);
  const start = await runCli(sweepArgs('start', writeJobs(work, `${name}-jobs.json`, sweepJobs), configFile, join(work, 'results')), env);
  expect(start.exitCode, start.stderr).toBe(0);
  const id = start.stdout.trim();
  await waitUntil(`${name}: the moment to cancel`, () => ready(id), 40_000);
  const cancelledAt = Date.now();
  const afterCancel = watchTrialsAfterCancel(() => leftOnNodes(name), cancelledAt);
  const cancel = way === 'rigsweep cancel' ? await runCli(['cancel', id], env) : await temporalCli(['workflow', 'cancel', '--workflow-id', id], env);
  expect(cancel.exitCode, cancel.stderr).toBe(0);
  expect(await endingWithin15s(id, cancelledAt)).toBe('cancelled');
  const after = await afterCancel;
  const row = {
    fault: `cancel in ${phase}`,
    jobs: sweepJobs.length,
    lost: await jobsFinishedButNotRecorded(runsOf(name), runFolder(join(work, 'results'), id)),
    twiceAtOnce: jobsRunTwiceAtOnce(runsOf(name)),
    orphans: after.orphans,
    recoverSeconds: after.goneAfterSeconds,
  };
  reportChaos(row);
  expect(row).toMatchObject({ lost: 0, twiceAtOnce: 0, orphans: 0 });
  return id;
}

const phaseOf = async (id: string) => (await new Client({ connection }).workflow.getHandle(id).query(progressQuery, Number.MAX_SAFE_INTEGER)).phase;
const partialResults = (id: string) => readJson<ResultsJson>(join(runFolder(join(cluster.work, 'results'), id), 'sweep_results.json'));

describe('a cancel on staggered nodes', () => {
  it('ends the sweep cancelled and kills every trial while jobs wait for a GPU (the reported case)', async () => {
    const { env, work, configNodes } = cluster;
    const config = writeUserConfig(work, 'waiting.json', {
      nodes: configNodes,
      job_batching: { enabled: true, max_jobs_per_batch: 20, max_jobs_per_node_per_batch: 6 },
    });
    const id = 'cancel-while-waiting';
    const input = {
      jobsFile: writeJobs(work, 'waiting-jobs.json', jobs('waiting', 16, '120')),
      configFile: config,
      outputDir: join(work, 'results'),
      preservePaths: true,
    };
    const started = await temporalCli(
      ['workflow', 'start', '--type', 'trialSweep', '--task-queue', env.taskQueue, '--workflow-id', id, '--input', JSON.stringify(input)],
      env,
    );
    expect(started.exitCode, started.stderr).toBe(0);
    await waitUntil('8 trials to run on the 8 GPUs', () => runsOf('waiting').length >= 8, 30_000);
    const cancelledAt = Date.now();
    const afterCancel = watchTrialsAfterCancel(() => leftOnNodes('waiting'), cancelledAt);
    const cancel = await temporalCli(['workflow', 'cancel', '--workflow-id', id], env);
    expect(cancel.exitCode, cancel.stderr).toBe(0);
    expect(await endingWithin15s(id, cancelledAt)).toBe('cancelled');
    expect((await afterCancel).orphans).toBe(0);
    expect(runsOf('waiting')).toHaveLength(8);
    expect(partialResults(id)).toMatchObject({ status: 'partial', total_jobs: 16, successful: 0 });
  });

  it('in pre-flight, while a cut-off rig does not answer: cancelled, not failed as unreachable', async () => {
    const rig = cluster.rigs.rigs[0];
    await cluster.rigs.cut(rig.index);
    try {
      const id = await startThenCancel(
        'cpre',
        'pre-flight',
        { nodes: [cluster.configNodes[1]] },
        jobs('cpre', 2, '0.2'),
        async (sweep) => (await phaseOf(sweep)) === 'pre-flight',
        // The fastest of the ways to cancel: the rig's SSH connect times out 10 s into pre-flight,
        // and a loaded machine can take seconds to start rigsweep's own CLI.
        'temporal workflow cancel',
      );
      expect(runsOf('cpre')).toEqual([]);
      expect(partialResults(id)).toMatchObject({ total_jobs: 2, successful: 0 });
    } finally {
      await cluster.rigs.restore(rig.index);
    }
  });

  it('in a warm-up: the warm-up is killed on its rig', async () => {
    const warmup = 'python3 fake_trial.py --job cwarm{gpu} --sleep 60 --gpu-id {gpu}';
    const config = { nodes: [cluster.configNodes[0], { ...cluster.configNodes[2], warmup_command: warmup }] };
    await startThenCancel('cwarm', 'a warm-up', config, jobs('cwarmjob', 2, '0.2'), () => runsOf('cwarm').length === 1, 'temporal workflow cancel');
    expect(runsOf('cwarm')).toHaveLength(1);
    expect(runsOf('cwarmjob')).toEqual([]);
  });

  it('in a stagger wait: the running trial is killed and the next never starts', async () => {
    const config = { nodes: [{ ...cluster.configNodes[1], stagger_delay: 3 }] };
    await startThenCancel('cstag', 'a stagger wait', config, jobs('cstag', 2, '60'), () => runsOf('cstag').length === 1, 'rigsweep cancel');
    expect(runsOf('cstag')).toHaveLength(1);
  });

  it('in a retry backoff: no further attempt starts', async () => {
    const config = { nodes: [cluster.configNodes[0]], retry_backoff_seconds: 60 };
    await startThenCancel(
      'cretry',
      'a retry backoff',
      config,
      jobs('cretry', 1, '0.1', ['--exit-code', '3']),
      () => runsOf('cretry').some((run) => run.endRecord),
      'temporal workflow cancel',
    );
    expect(runsOf('cretry')).toHaveLength(1);
  });

  it('in a reset between batches: the reset is killed on its rig and no later batch starts', async () => {
    const rig = cluster.rigs.rigs[1];
    writeFileSync(join(rig.diskDir, 'sudo-sleeps'), '60');
    try {
      const config = {
        nodes: [cluster.configNodes[2]],
        job_batching: { max_jobs_per_batch: 1, max_jobs_per_node_per_batch: 1, inter_batch_cooldown_seconds: 0 },
      };
      const resetsBefore = readCalls(rig.callsLog).length;
      await startThenCancel('creset', 'a reset', config, jobs('creset', 2, '0.1'), () => readCalls(rig.callsLog).length > resetsBefore, 'rigsweep cancel');
      expect(runsOf('creset').map((run) => run.jobId)).toEqual(['creset0']);
    } finally {
      rmSync(join(rig.diskDir, 'sudo-sleeps'), { force: true });
    }
  });

  it('in a rolling cooldown: the next job never starts', async () => {
    const rig = cluster.rigs.rigs[0];
    const config = {
      nodes: [cluster.configNodes[1]],
      job_batching: { mode: 'rolling', max_jobs_per_batch: 2, max_jobs_per_node_per_batch: 1, inter_batch_cooldown_seconds: 60 },
    };
    const resetsBefore = readCalls(rig.callsLog).length;
    await startThenCancel(
      'ccool',
      'a rolling cooldown',
      config,
      jobs('ccool', 3, '0.1'),
      () => readCalls(rig.callsLog).length > resetsBefore,
      'temporal workflow cancel',
    );
    expect(runsOf('ccool').map((run) => run.jobId)).toEqual(['ccool0']);
  });

  it('rigsweep cancel returns after --wait while a cut-off rig holds its job, saying what the sweep waits for', async () => {
    // The other rig: the rolling cooldown's quiet window, which outlives its cancelled sweep, holds rig 1.
    const rig = cluster.rigs.rigs[1];
    const { env, work } = cluster;
    const config = writeUserConfig(work, 'ccut.json', { nodes: [cluster.configNodes[2]], lease_seconds: 4 });
    const start = await runCli(sweepArgs('start', writeJobs(work, 'ccut-jobs.json', jobs('ccut', 1, '120')), config, join(work, 'results')), env);
    const id = start.stdout.trim();
    await waitUntil('the trial to run', () => runsOf('ccut').length === 1, 20_000);
    await cluster.rigs.cut(rig.index);
    try {
      const cancel = await runCli(['cancel', id, '--wait', '1'], env);
      expect(cancel.exitCode, cancel.stderr).toBe(1);
      expect(cancel.stderr).toContain(`${id} still runs 1 s after the cancel request`);
      expect(cancel.stderr).toMatch(new RegExp(`runJob on ${rig.address.replace(/\./g, '\\.')} GPU \\d`));
    } finally {
      await cluster.rigs.restore(rig.index);
    }
    // The rig kills its own job once its lease runs out; the sweep then ends cancelled.
    expect(await endingWithin15s(id, Date.now())).toBe('cancelled');
    expect((await watchTrialsAfterCancel(() => leftOnNodes('ccut'), Date.now())).orphans).toBe(0);
  });

  it('by Ctrl-C on rigsweep run after the last job ended: the Results JSON is complete and the sweep cancelled', async () => {
    // The worker is held still (SIGSTOP) from the trial's start until after the cancel, so the
    // cancel reaches the sweep only once its last job has ended on the node.
    const { env, work } = cluster;
    const config = writeUserConfig(work, 'clast.json', { nodes: [cluster.configNodes[0]] });
    let interruptedAt = 0;
    const run = await runCli(sweepArgs('run', writeJobs(work, 'clast-jobs.json', jobs('clast', 1, '1')), config, join(work, 'results')), env, {
      onSpawn: (child) => {
        // eslint-disable-next-line @typescript-eslint/no-floating-promises -- runs beside the CLI from a sync spawn callback; a rejection fails the run as unhandled
        void waitUntil('the trial to start', () => runsOf('clast').length === 1).then(async () => {
          process.kill(worker.pid, 'SIGSTOP');
          try {
            await waitUntil('the trial to end', () => runsOf('clast').some((r) => r.endRecord), 10_000);
            interruptedAt = Date.now();
            child.kill('SIGINT');
            await new Promise((resolve) => setTimeout(resolve, 1000));
          } finally {
            process.kill(worker.pid, 'SIGCONT');
          }
        });
      },
    });
    expect(run.exitCode, run.stderr).toBe(3);
    expect(Date.now() - interruptedAt).toBeLessThan(15_000);
    expect(run.results).toMatchObject({ total_jobs: 1, successful: 1, failed: 0 });
    expect(runsOf('clast')).toHaveLength(1);
  });
});
