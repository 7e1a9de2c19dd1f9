/** `rigsweep worker`: a long-running worker; SIGINT/SIGTERM finish in-flight work and stop it. */
import { resolve } from 'node:path';
import { loadConfig } from '../inputs/load-config';
import { installWithMetrics, metricsPort } from '../metrics/install-metrics';
import { createSweepWorker } from '../worker';
import { CliError, EXIT } from './exit-codes';
import { installWorkerLogging } from './logging';
import { connectClient, hasWorkerNamed, localWorkerName, temporalSettings } from './temporal';

export interface WorkerFlags {
  config: string;
  name?: string;
  trialsOnly?: boolean;
  verbose?: boolean;
  metricsPort?: string | number;
}

/** Activity slots when no config says how many GPUs there are: a trials-only worker serves any sweep's rigs. */
const TRIALS_ONLY_SLOTS = 400;

export async function workerCommand(flags: WorkerFlags): Promise<number> {
  // Fail on a broken default config, name or metrics port now, not in the middle of someone's sweep.
  const name = localWorkerName(flags.name !== undefined ? { RIGSWEEP_WORKER_NAME: flags.name } : process.env);
  const config = flags.trialsOnly ? null : await loadConfig(resolve(flags.config));
  const port = metricsPort(flags.metricsPort);
  const settings = temporalSettings();
  const { client, connection } = await connectClient(settings);
  try {
    // Two full workers of one name would split a sweep's files between two hosts.
    if (!flags.trialsOnly && (await hasWorkerNamed(client, settings, name)))
      throw new CliError(`a worker named "${name}" already polls ${settings.address}: give this one another --name`, EXIT.badInput);
  } finally {
    await connection.close();
  }
  installWithMetrics(port, (telemetryOptions) => installWorkerLogging(flags.verbose ? 'DEBUG' : 'INFO', { handleSignals: true, telemetryOptions }));
  const gpuSlots = config ? config.nodes.reduce((sum, node) => sum + node.maxConcurrent, 0) : TRIALS_ONLY_SLOTS;
  const worker = await createSweepWorker({
    ...settings,
    name,
    trialsOnly: flags.trialsOnly,
    configFile: config?.path ?? '',
    maxConcurrentActivities: Math.max(200, gpuSlots * 2 + 20),
  });
  const metrics = port === undefined ? '' : `; Prometheus metrics on http://0.0.0.0:${port}/metrics`;
  const serves = config ? `config ${config.path}` : 'trials on rigs only';
  process.stderr.write(`rigsweep worker polling "${settings.taskQueue}" on ${settings.address} (${settings.namespace}) as "${name}"; ${serves}${metrics}\n`);
  try {
    await worker.run();
  } finally {
    await worker.close();
  }
  return 0;
}
