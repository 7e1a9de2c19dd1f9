/**
 * The composition root: the only place that builds real dependencies — the SSH pool, the local
 * shell, a Temporal client for start signals — and hands them to `createActivities`. The worker
 * runs the pre-built workflow bundle, so it polls within a second of starting.
 */
import { existsSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities, nodeActivities } from './activities/create-activities';
import { registerSearchAttributes } from './register-search-attributes';
import { fullWorkerQueues, jobStartedSignal, resultsHostTroubleSignal } from './shared/names';
import { LocalShell } from './rigs/local-shell';
import { shellFor } from './rigs/node-shell';
import { SshPool } from './rigs/ssh-pool';
import { WORKFLOW_BUNDLE_PATH, WORKFLOWS_PATH } from './worker-paths';

export interface SweepWorkerOptions {
  address: string;
  namespace: string;
  /** The shared queue: workflow tasks and work on rigs, for every worker. */
  taskQueue: string;
  /** The worker's name, stable across restarts: the sweeps it is the results host of find it by it. */
  name: string;
  /** Serve only work on rigs over SSH: never plan a sweep or touch its files, need no config. */
  trialsOnly?: boolean;
  /** Config used by sweeps whose input names none (full workers). */
  configFile: string;
  /** Where relative paths of a sweep's input are resolved. */
  cwd?: string;
  /** Concurrent activities: at least every GPU slot of the cluster, plus resets and bookkeeping. */
  maxConcurrentActivities?: number;
}

export interface SweepWorker {
  /** Every queue this worker polls: the shared one first. */
  taskQueues: string[];
  /** Polls until shut down (SIGINT/SIGTERM when the runtime handles signals). */
  run(): Promise<void>;
  /** Polls until `task` settles, then shuts down. */
  runUntil<T>(task: () => Promise<T>): Promise<T>;
  /** Closes SSH connections and the Temporal connections once the worker has stopped. */
  close: () => Promise<void>;
}

/**
 * A full worker polls three queues: the shared one (workflow tasks, rigs), the full workers' one
 * (sweeps that name no results host are planned there) and its own name's (the file work and
 * localhost work of the sweeps it is the results host of). A trials-only worker polls the shared
 * queue alone, with the rig activities only.
 */
export async function createSweepWorker(options: SweepWorkerOptions): Promise<SweepWorker> {
  const nativeConnection = await NativeConnection.connect({ address: options.address });
  const clientConnection = await Connection.connect({ address: options.address });
  const client = new Client({ connection: clientConnection, namespace: options.namespace });
  // Before the first workflow task: a sweep that sets an unknown search attribute fails for good.
  await registerSearchAttributes(clientConnection, options.namespace);
  const ssh = new SshPool();
  const local = new LocalShell();
  const activities = createActivities({
    defaultConfigFile: options.configFile,
    cwd: options.cwd ?? process.cwd(),
    workerName: options.name,
    shellFor: (node) => shellFor(node, ssh, local),
    reportStarted: (workflowId, args) => client.workflow.getHandle(workflowId).signal(jobStartedSignal, args),
    reportResultsHostTrouble: (workflowId, reason) => client.workflow.getHandle(workflowId).signal(resultsHostTroubleSignal, { reason }),
  });
  const workflowSource = existsSync(WORKFLOW_BUNDLE_PATH) ? { workflowBundle: { codePath: WORKFLOW_BUNDLE_PATH } } : { workflowsPath: WORKFLOWS_PATH };
  const common = {
    connection: nativeConnection,
    namespace: options.namespace,
    maxConcurrentActivityTaskExecutions: options.maxConcurrentActivities ?? 200,
    // A cancel reaches a running job only with its next heartbeat; the default throttle (80% of
    // the 30 s heartbeat timeout) would leave trials burning GPUs for up to 24 s after a cancel.
    maxHeartbeatThrottleInterval: '2 seconds',
    defaultHeartbeatThrottleInterval: '2 seconds',
  };
  const shared = await Worker.create({
    ...common,
    taskQueue: options.taskQueue,
    activities: options.trialsOnly ? nodeActivities(activities) : activities,
    ...workflowSource,
  });
  const workers = [shared];
  if (!options.trialsOnly) {
    for (const taskQueue of fullWorkerQueues(options.taskQueue, options.name).slice(1)) workers.push(await Worker.create({ ...common, taskQueue, activities }));
  }
  return {
    taskQueues: workers.map((worker) => worker.options.taskQueue),
    run: () => runAll(workers),
    runUntil: async (task) => {
      const running = runAll(workers);
      try {
        return await Promise.race([task(), running.then(() => Promise.reject(new Error('the worker stopped before its task ended')))]);
      } finally {
        shutDown(workers);
        await running.catch(() => undefined);
      }
    },
    close: async () => {
      await ssh.close();
      await clientConnection.close();
      await nativeConnection.close();
    },
  };
}

/** Runs the workers together: one that fails stops the others, and its error is the group's. */
async function runAll(workers: Worker[]): Promise<void> {
  const runs = workers.map((worker) =>
    worker.run().catch((error: unknown) => {
      shutDown(workers);
      throw error;
    }),
  );
  await Promise.all(runs);
}

function shutDown(workers: Worker[]): void {
  for (const worker of workers) if (worker.getState() === 'RUNNING') worker.shutdown();
}
