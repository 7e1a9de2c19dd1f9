/**
 * The composition root: the only place that builds real dependencies — the SSH pool, the local
 * shell, a Temporal client for start signals — and hands them to `createActivities`. The worker
 * runs the pre-built workflow bundle, so it polls within a second of starting.
 */
import { existsSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from './activities/create-activities';
import { registerSearchAttributes } from './register-search-attributes';
import { jobStartedSignal } from './shared/names';
import { LocalShell } from './rigs/local-shell';
import { shellFor } from './rigs/node-shell';
import { SshPool } from './rigs/ssh-pool';
import { WORKFLOW_BUNDLE_PATH, WORKFLOWS_PATH } from './worker-paths';

export interface SweepWorkerOptions {
  address: string;
  namespace: string;
  taskQueue: string;
  /** Config used by sweeps whose input names none. */
  configFile: string;
  /** Where relative paths of a sweep's input are resolved. */
  cwd?: string;
  /** Concurrent activities: at least every GPU slot of the cluster, plus resets and bookkeeping. */
  maxConcurrentActivities?: number;
}

export interface SweepWorker {
  worker: Worker;
  /** Closes SSH connections and the Temporal connections once the worker has stopped. */
  close: () => Promise<void>;
}

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
    shellFor: (node) => shellFor(node, ssh, local),
    reportStarted: (workflowId, args) => client.workflow.getHandle(workflowId).signal(jobStartedSignal, args),
  });
  const workflowSource = existsSync(WORKFLOW_BUNDLE_PATH) ? { workflowBundle: { codePath: WORKFLOW_BUNDLE_PATH } } : { workflowsPath: WORKFLOWS_PATH };
  const worker = await Worker.create({
    connection: nativeConnection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    activities,
    ...workflowSource,
    maxConcurrentActivityTaskExecutions: options.maxConcurrentActivities ?? 200,
    // A cancel reaches a running job only with its next heartbeat; the default throttle (80% of
    // the 30 s heartbeat timeout) would leave trials burning GPUs for up to 24 s after a cancel.
    maxHeartbeatThrottleInterval: '2 seconds',
    defaultHeartbeatThrottleInterval: '2 seconds',
  });
  return {
    worker,
    close: async () => {
      await ssh.close();
      await clientConnection.close();
      await nativeConnection.close();
    },
  };
}
