/**
 * Reaching Temporal from the CLI: the address and namespace come from the same environment
 * variables the `temporal` CLI uses, and "nothing answers" is a clear message with exit code 4.
 */
import { hostname } from 'node:os';
import { Client, Connection } from '@temporalio/client';
import { DEFAULT_TASK_QUEUE, fullWorkersQueue, resultsHostQueue, WORKER_NAME_PATTERN } from '../shared/names';
import { CliError, EXIT } from './exit-codes';

export interface TemporalSettings {
  address: string;
  namespace: string;
  taskQueue: string;
}

export function temporalSettings(env: NodeJS.ProcessEnv = process.env): TemporalSettings {
  return {
    address: env.TEMPORAL_ADDRESS || 'localhost:7233',
    namespace: env.TEMPORAL_NAMESPACE || 'default',
    taskQueue: env.RIGSWEEP_TASK_QUEUE || DEFAULT_TASK_QUEUE,
  };
}

export async function connectClient(settings: TemporalSettings, timeoutMs = 5000): Promise<{ client: Client; connection: Connection }> {
  try {
    const connection = await Connection.connect({ address: settings.address, connectTimeout: timeoutMs });
    await connection.workflowService.getSystemInfo({});
    return { client: new Client({ connection, namespace: settings.namespace }), connection };
  } catch (error) {
    throw new CliError(
      `cannot reach the Temporal server at ${settings.address} (${(error as Error).message}).\n` +
        `Start one with \`temporal server start-dev --db-filename temporal.db\` (or \`rigsweep demo\`, which starts one for you),\n` +
        `or point TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE at yours.`,
      EXIT.temporalUnreachable,
      { cause: error },
    );
  }
}

/** A poller the server still lists may belong to a worker that has gone; it is live when it polled recently and, if it ran here, its process still exists. */
function pollerIsLive(poller: { identity?: string | null; lastAccessTime?: { seconds?: unknown } | null }, nowMs: number): boolean {
  const lastSeconds = Number(poller.lastAccessTime?.seconds ?? 0);
  // Long polls last up to a minute; a worker silent for longer is gone.
  if (nowMs - lastSeconds * 1000 > 75_000) return false;
  const match = /^(\d+)@(.+)$/.exec(poller.identity ?? '');
  if (!match || match[2] !== hostname()) return true;
  try {
    process.kill(Number(match[1]), 0);
    return true;
  } catch {
    return false;
  }
}

/** True when a live worker polls the task queue for workflow tasks. */
export async function hasWorker(client: Client, settings: TemporalSettings): Promise<boolean> {
  return hasLivePoller(client, settings.namespace, settings.taskQueue, 1); // TASK_QUEUE_TYPE_WORKFLOW
}

/** True when a live full worker named `name` polls its own queue. */
export async function hasWorkerNamed(client: Client, settings: TemporalSettings, name: string): Promise<boolean> {
  return hasLivePoller(client, settings.namespace, resultsHostQueue(settings.taskQueue, name), 2); // TASK_QUEUE_TYPE_ACTIVITY
}

/** True when any live full worker polls: one that can plan a sweep that names no results host. */
export async function hasFullWorker(client: Client, settings: TemporalSettings): Promise<boolean> {
  return hasLivePoller(client, settings.namespace, fullWorkersQueue(settings.taskQueue), 2);
}

async function hasLivePoller(client: Client, namespace: string, taskQueue: string, taskQueueType: 1 | 2): Promise<boolean> {
  const response = await client.workflowService.describeTaskQueue({ namespace, taskQueue: { name: taskQueue }, taskQueueType });
  const now = Date.now();
  return (response.pollers ?? []).some((poller) => pollerIsLive(poller, now));
}

/**
 * This host's worker name: `RIGSWEEP_WORKER_NAME`, else the hostname. `rigsweep worker` defaults
 * to it, and `run` names it as its sweep's results host.
 */
export function localWorkerName(env: NodeJS.ProcessEnv = process.env): string {
  const name = env.RIGSWEEP_WORKER_NAME || hostname();
  if (!WORKER_NAME_PATTERN.test(name)) {
    throw new CliError(
      `worker name ${JSON.stringify(name)} (from ${env.RIGSWEEP_WORKER_NAME ? 'RIGSWEEP_WORKER_NAME' : 'the hostname'}) is not usable: letters, digits, ".", "_" or "-", at most 253; set RIGSWEEP_WORKER_NAME`,
      EXIT.badInput,
    );
  }
  return name;
}
