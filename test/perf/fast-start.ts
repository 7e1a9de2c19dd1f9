/**
 * Perf: how fast rigsweep gets going. (i) From spawning `rigsweep worker` to its "polling" line, and
 * to the server listing it as a poller of its task queue, over a few launches; (ii) `rigsweep run
 * --trials 20` on localhost's 2 GPUs with 1 s trials, no stagger: its wall time minus the ideal
 * ceil(20/2) x 1 s — with a worker already polling, and with the worker hosted in the CLI itself.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client, Connection } from '@temporalio/client';
import { hasWorker } from '../../src/cli/temporal';
import type { NodeConfig } from '../../src/shared/config';
import { runCli, startWorkerProcess, type CliEnv } from '../harness/cli';
import { collectRuns, writeUserConfig, type NodeUnderTest } from '../harness/sweep-fixture';
import { median, met } from './figures';

const TARGET = { pollingSeconds: 2, overheadSeconds: 3 };
const TRIALS = 20;
const GPUS = 2;
const TRIAL_SECONDS = 1;

/** Milliseconds until a live worker polls `taskQueue`, as the server lists its pollers. */
async function untilServerListsPoller(client: Client, env: CliEnv, taskQueue: string, from: number): Promise<number> {
  const settings = { address: env.temporalAddress, namespace: 'default', taskQueue };
  while (!(await hasWorker(client, settings))) {
    if (performance.now() - from > 60_000) throw new Error(`no poller on ${taskQueue} after 60 s`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return performance.now() - from;
}

/** (i) Each launch on a task queue of its own, so no earlier launch's poller counts. */
export async function workerLaunches(config: string, env: CliEnv, cwd: string, launches = 3): Promise<[string, string][]> {
  const connection = await Connection.connect({ address: env.temporalAddress });
  const client = new Client({ connection });
  const toLine: number[] = [];
  const toPoller: number[] = [];
  try {
    for (let i = 0; i < launches; i++) {
      const taskQueue = `${env.taskQueue}-launch-${i}`;
      const from = performance.now();
      const worker = await startWorkerProcess(config, { ...env, taskQueue }, cwd);
      toLine.push(performance.now() - from);
      toPoller.push(await untilServerListsPoller(client, env, taskQueue, from));
      await worker.stop();
    }
  } finally {
    await connection.close();
  }
  const seconds = (ms: number[]) => ms.map((m) => (m / 1000).toFixed(2)).join(', ');
  return [
    [
      `fast start (i): spawn → "rigsweep worker polling" line, median of ${launches} (s)`,
      `${(median(toLine) / 1000).toFixed(2)} (${seconds(toLine)}; ≤ ${TARGET.pollingSeconds} s: ${met(median(toLine) / 1000 <= TARGET.pollingSeconds)})`,
    ],
    ['fast start (i): spawn → server lists the poller, median (s)', `${(median(toPoller) / 1000).toFixed(2)} (${seconds(toPoller)})`],
  ];
}

export interface RunOverheadSetup {
  env: CliEnv;
  work: string;
  /** localhost as the config names it (2 GPUs, stagger 0) and as its trial records name it. */
  localConfigNode: NodeConfig;
  localNode: NodeUnderTest;
}

/** (ii) The same 20-trial run with a polling worker and with the CLI hosting one; one row each. */
export async function runOverhead(setup: RunOverheadSetup): Promise<[string, string][]> {
  const { env, work } = setup;
  const config = writeUserConfig(work, 'fast-start.json', {
    nodes: [{ ...setup.localConfigNode, gpu_count: GPUS, max_concurrent_script_jobs: GPUS, stagger_delay: 0 }],
    job_batching: { enabled: false },
    preflight: { enabled: false },
    // The interpreter localhost's config names: `python3` from PATH may be a shim (pyenv) that
    // costs ~0.1 s per trial before the trial's own code runs.
    trial_command: `${setup.localConfigNode.python_env} fake_trial.py --job {run_id}_{trial_id} --sleep ${TRIAL_SECONDS} --output out/{run_id}/{trial_id}.json --gpu-id {gpu}`,
    trial_output: 'out/{run_id}/{trial_id}.json',
  });
  const ideal = Math.ceil(TRIALS / GPUS) * TRIAL_SECONDS;
  const polled = { ...env, taskQueue: `${env.taskQueue}-fast-polled` };
  const worker = await startWorkerProcess(config, polled, work);
  const withWorker = await timedRun(config, polled, work, 'fast-polled', setup.localNode).finally(() => worker.stop());
  const hosted = await timedRun(config, { ...env, taskQueue: `${env.taskQueue}-fast-hosted` }, work, 'fast-hosted', setup.localNode);
  const cell = (run: TimedRun) => {
    const overhead = run.wall - ideal;
    const parts = `first trial ${run.toFirst.toFixed(1)} s after launch, gaps between trials ${(run.span - ideal).toFixed(1)} s, exit ${run.afterLast.toFixed(1)} s after the last`;
    return `${overhead.toFixed(1)} = wall ${run.wall.toFixed(1)} s − ideal ${ideal} s (< ${TARGET.overheadSeconds} s: ${met(overhead < TARGET.overheadSeconds)}): ${parts}`;
  };
  return [
    [`fast start (ii): run --trials ${TRIALS} outside the trials, worker polling (s)`, cell(withWorker)],
    [`fast start (ii): run --trials ${TRIALS} outside the trials, worker hosted (s)`, cell(hosted)],
  ];
}

interface TimedRun {
  wall: number;
  /** First trial's start to last trial's end, from the trial records. */
  span: number;
  /** From spawning the CLI to the first trial's process start. */
  toFirst: number;
  /** From the last trial's end to the CLI's exit. */
  afterLast: number;
}

/** Wall time of one `rigsweep run --trials 20`, split by its trials' records into before, during and after them. */
async function timedRun(config: string, env: CliEnv, work: string, workflowId: string, localNode: NodeUnderTest): Promise<TimedRun> {
  const from = Date.now() / 1000;
  const run = await runCli(['run', '--trials', String(TRIALS), '--config', config, '--output-dir', join(work, 'out'), '--workflow-id', workflowId], env, {
    cwd: work,
  });
  const to = Date.now() / 1000;
  if (run.exitCode !== 0 || run.results?.successful !== TRIALS) throw new Error(`rigsweep run ${workflowId} failed (exit ${run.exitCode}): ${run.stderr}`);
  const runs = collectRuns([localNode]).filter((r) => r.jobId.startsWith(`${run.results!.run_id}_`));
  const [first, last] = [Math.min(...runs.map((r) => r.start)), Math.max(...runs.map((r) => r.end))];
  return { wall: to - from, span: last - first, toFirst: first - from, afterLast: to - last };
}
