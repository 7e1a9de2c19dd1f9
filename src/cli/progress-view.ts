/**
 * The live view of a sweep on a terminal: a header, one overall bar with the counts, pace and
 * ETA, and one line per node, redrawn in place by cli-progress's MultiBar. Event lines a person
 * should not miss (batches, resets, failures) scroll above it; the `✓` lines are left to the bars.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { MultiBar, type SingleBar } from 'cli-progress';
import type { NodeProgress, SweepProgress } from '../shared/progress';
import { followSweep, formatEvent, pollProgress } from './follow';
import { countsLine, headerLine, nodeColumns, nodeLine } from './progress-format';

const OVERALL_BAR_WIDTH = 30;

/** The header, the overall bar and a line per node, redrawn in place; lines given to `log` scroll above. */
export class LiveSweepView {
  private readonly multiBar: MultiBar;
  private header?: SingleBar;
  private overall?: SingleBar;
  private nodeBars: SingleBar[] = [];
  private nodeNames = '';
  private stopped = false;

  constructor(
    private readonly workflowId: string,
    stream: NodeJS.WritableStream = process.stderr,
  ) {
    this.multiBar = new MultiBar({
      stream,
      format: '{text}',
      barsize: OVERALL_BAR_WIDTH,
      barCompleteChar: '█',
      barIncompleteChar: '░',
      // A sweep with no jobs planned yet shows an empty bar, not a full one.
      emptyOnZero: true,
      // Lines logged above the bars move them down: every line must be drawn again, changed or not.
      forceRedraw: true,
      // Nothing to restore if the process is killed: the cursor stays visible, lines are cut by
      // cli-progress itself instead of switching the terminal's wrapping off.
      hideCursor: false,
      linewrap: true,
    });
  }

  /** Draws the sweep as it is now; node lines are rebuilt when the set of nodes changes. */
  show(progress: SweepProgress, nowMs = Date.now()): void {
    if (this.stopped) return;
    const header = { text: headerLine(progress, this.workflowId) };
    const counts = { text: countsLine(progress, nowMs) };
    if (!this.header || !this.overall) {
      this.header = this.multiBar.create(0, 0, header);
      this.overall = this.multiBar.create(progress.totalJobs, progress.done, counts, { format: '[{bar}] {text}' });
    }
    this.header.update(header);
    this.overall.setTotal(progress.totalJobs);
    this.overall.update(progress.done, counts);
    this.showNodes(progress.nodes ?? []);
  }

  /** A line that scrolls above the bars and stays. */
  log(line: string): void {
    if (this.stopped) return;
    this.multiBar.log(`${line}\n`);
    // Drawn now, one at a time: MultiBar clears only the first of several lines it flushes at once,
    // and would drop lines logged just before stop().
    this.multiBar.update();
  }

  /** Draws the last state once more and leaves it on screen. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.multiBar.stop();
  }

  private showNodes(nodes: NodeProgress[]): void {
    const names = nodes.map((node) => node.name).join('\n');
    if (names !== this.nodeNames) {
      for (const bar of this.nodeBars) this.multiBar.remove(bar);
      this.nodeBars = nodes.map(() => this.multiBar.create(0, 0, { text: '' }));
      this.nodeNames = names;
    }
    const columns = nodeColumns(nodes);
    nodes.forEach((node, i) => this.nodeBars[i].update({ text: nodeLine(node, columns) }));
  }
}

/**
 * Follows a sweep in the live view until `stop` settles; `onProgress` sees every answer too.
 * Ctrl-C leaves the last picture on screen at once, so what the caller's own SIGINT handler
 * prints (run: cancelling, watch: stopped watching) stands below it instead of inside it.
 */
export async function followSweepLive(
  handle: WorkflowHandle,
  stop: Promise<unknown>,
  onProgress: (progress: SweepProgress) => void = () => undefined,
): Promise<void> {
  const view = new LiveSweepView(handle.workflowId);
  const freeze = () => view.stop();
  process.prependListener('SIGINT', freeze);
  try {
    await pollProgress(handle, stop, (progress) => {
      onProgress(progress);
      for (const event of progress.events) if (!(event.kind === 'job' && event.job.success)) view.log(formatEvent(event));
      view.show(progress);
    });
  } finally {
    process.removeListener('SIGINT', freeze);
    view.stop();
  }
}

/** True when a person watches: both streams are a terminal, so redrawing cannot garble a pipe or a file. */
export function isInteractive(): boolean {
  return Boolean(process.stderr.isTTY && process.stdout.isTTY);
}

/**
 * How `rigsweep run` follows its sweep: the live view on stderr for a person at a terminal,
 * otherwise the seed's lines through `write`, exactly as scripts and the WATCHER read them.
 */
export function followSweepLiveOrPlain(handle: WorkflowHandle, stop: Promise<unknown>, write: (line: string) => void, live = isInteractive()): Promise<void> {
  return live ? followSweepLive(handle, stop) : followSweep(handle, stop, write);
}
