/**
 * Reaching Temporal from the CLI: the address and namespace come from the same environment
 * variables the `temporal` CLI uses, and "nothing answers" is a clear message with exit code 4.
 */
import { hostname } from 'node:os';
import { Client, Connection } from '@temporalio/client';
import { DEFAULT_TASK_QUEUE } from '../shared/names';
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
  const response = await client.workflowService.describeTaskQueue({
    namespace: settings.namespace,
    taskQueue: { name: settings.taskQueue },
    taskQueueType: 1, // TASK_QUEUE_TYPE_WORKFLOW
  });
  const now = Date.now();
  return (response.pollers ?? []).some((poller) => pollerIsLive(poller, now));
}
