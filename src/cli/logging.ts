/** Worker logs go to stderr, so stdout stays the sweep's lines and the Results JSON scripts parse. */
import { DefaultLogger, type LogLevel, Runtime } from '@temporalio/worker';

let installed = false;

export function installWorkerLogging(level: LogLevel): void {
  if (installed) return;
  installed = true;
  Runtime.install({
    logger: new DefaultLogger(level, (entry) => {
      const meta = entry.meta && Object.keys(entry.meta).length ? ` ${JSON.stringify(entry.meta)}` : '';
      process.stderr.write(`${new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString()} [${entry.level}] ${entry.message}${meta}\n`);
    }),
  });
}
