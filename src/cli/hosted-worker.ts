/**
 * A worker in the CLI's own process, for commands that follow sweeps (`run`, `bench`): with
 * nothing but a Temporal server, a sweep still runs, and an operator's long-running worker is
 * used whenever one polls.
 */
import type { Client } from '@temporalio/client';
import { installWithMetrics, metricsPort } from '../metrics/install-metrics';
import { hasWorkerNamed, type TemporalSettings } from './temporal';

export interface HostedWorkerOptions {
  /** The worker name the sweep names as its results host. */
  name: string;
  /** Config for sweeps whose input names none. */
  configFile: string;
  verbose?: boolean;
  /** Where the notice about hosting a worker goes. */
  log: (line: string) => void;
}

/**
 * Runs `task` while the full worker `name` serves the task queue: the live one already polling,
 * or else one hosted here until `task` settles (trials-only workers polling do not count: the
 * sweep's files are here). Its logging leaves SIGINT to the command, so Ctrl-C cancels the sweep
 * (whose jobs then kill their processes) before the worker stops.
 */
export async function withWorker<T>(client: Client, settings: TemporalSettings, options: HostedWorkerOptions, task: () => Promise<T>): Promise<T> {
  if (await hasWorkerNamed(client, settings, options.name)) return task();
  // Loaded only here: the worker SDK takes ~0.6 s to load, which a CLI attaching to a live worker never needs.
  const [{ createSweepWorker }, { installWorkerLogging }] = await Promise.all([import('../worker.js'), import('./logging.js')]);
  installWithMetrics(metricsPort(undefined), (telemetryOptions) =>
    installWorkerLogging(options.verbose ? 'INFO' : 'WARN', { handleSignals: false, telemetryOptions }),
  );
  options.log(`no worker named "${options.name}" polls task queue "${settings.taskQueue}": hosting one in this process`);
  const worker = await createSweepWorker({ ...settings, name: options.name, configFile: options.configFile });
  try {
    return await worker.runUntil(task);
  } finally {
    await worker.close();
  }
}
