/** Worker logs go to stderr, so stdout stays the sweep's lines and the Results JSON scripts parse. */
import { DefaultLogger, type LogLevel, Runtime, type TelemetryOptions } from '@temporalio/worker';

let installed = false;

/**
 * `handleSignals: false` for a worker hosted by `rigsweep run`: Ctrl-C must cancel the sweep (whose
 * jobs then kill their processes) before the worker stops, not stop the worker first.
 */
export function installWorkerLogging(level: LogLevel, options: { handleSignals: boolean; telemetryOptions?: TelemetryOptions }): void {
  if (installed) return;
  installed = true;
  Runtime.install({
    telemetryOptions: options.telemetryOptions,
    shutdownSignals: options.handleSignals ? ['SIGINT', 'SIGTERM', 'SIGQUIT', 'SIGUSR2'] : [],
    logger: new DefaultLogger(level, (entry) => {
      const meta = entry.meta && Object.keys(entry.meta).length ? ` ${JSON.stringify(entry.meta)}` : '';
      process.stderr.write(`${new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString()} [${entry.level}] ${entry.message}${meta}\n`);
    }),
  });
}
