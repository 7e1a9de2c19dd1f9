/** Reading the marker lines a job prints first, without stalling the rest of its output. */
import type { RemoteProcess } from './ssh-pool';

/**
 * The first `count` stdout lines (the start and GO markers), each null if the process ends first;
 * the rest of stdout is drained unread, since a full channel window would stall the trial.
 */
export function headerLines(process: RemoteProcess, count: number): Promise<string | null>[] {
  const resolvers: ((line: string | null) => void)[] = [];
  const lines = Array.from({ length: count }, () => new Promise<string | null>((resolve) => resolvers.push(resolve)));
  let text = '';
  let found = 0;
  const onData = (chunk: Buffer) => {
    text += chunk.toString('utf8');
    for (let end = text.indexOf('\n'); end >= 0 && found < count; end = text.indexOf('\n')) {
      resolvers[found++](text.slice(0, end));
      text = text.slice(end + 1);
    }
    if (found === count) {
      process.stdout.removeListener('data', onData);
      process.stdout.resume();
    }
  };
  process.stdout.on('data', onData);
  process.stdout.once('end', () => resolvers.slice(found).forEach((resolve) => resolve(null)));
  return lines;
}
