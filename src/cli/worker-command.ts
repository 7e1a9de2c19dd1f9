/** `rigsweep worker`: a long-running worker; SIGINT/SIGTERM finish in-flight work and stop it. */
import { resolve } from 'node:path';
import { loadConfig } from '../inputs/load-config';
import { installWithMetrics, metricsPort } from '../metrics/install-metrics';
import { createSweepWorker } from '../worker';
import { installWorkerLogging } from './logging';
import { connectClient, temporalSettings } from './temporal';

export async function workerCommand(flags: { config: string; verbose?: boolean; metricsPort?: string | number }): Promise<number> {
  // Fail on a broken default config or metrics port now, not in the middle of someone's sweep.
  const config = await loadConfig(resolve(flags.config));
  const port = metricsPort(flags.metricsPort);
  const settings = temporalSettings();
  await (await connectClient(settings)).connection.close();
  installWithMetrics(port, (telemetryOptions) => installWorkerLogging(flags.verbose ? 'DEBUG' : 'INFO', { handleSignals: true, telemetryOptions }));
  const gpuSlots = config.nodes.reduce((sum, node) => sum + node.maxConcurrent, 0);
  const { worker, close } = await createSweepWorker({
    ...settings,
    configFile: config.path,
    maxConcurrentActivities: Math.max(200, gpuSlots * 2 + 20),
  });
  const metrics = port === undefined ? '' : `; Prometheus metrics on http://0.0.0.0:${port}/metrics`;
  process.stderr.write(`rigsweep worker polling "${settings.taskQueue}" on ${settings.address} (${settings.namespace}); config ${config.path}${metrics}\n`);
  try {
    await worker.run();
  } finally {
    await close();
  }
  return 0;
}
