/**
 * Says when a sweep waits for its results host. The host's file work is retried without limit, so
 * a host whose worker is gone, or whose disk is full or read-only, holds the sweep rather than
 * failing it; this watch makes the wait visible. When file work has been outstanding for
 * `SILENT_SECONDS`, the sweep shows "waiting for the results host <name>: <reason>" — the reason a
 * failing activity sent (`resultsHostTroubleSignal`), else that the host has not answered — until
 * all of its file work is done.
 */
import { CancellationScope, isCancellation, sleep } from '@temporalio/workflow';

/** Long enough that a busy host's ordinary work never shows as a wait; short enough to be told while it matters. */
export const SILENT_SECONDS = 15;

/** The summary of the watch's timer, by which histories tell it from the core's own. */
export const RESULTS_HOST_CHECK = 'results host check';

export class ResultsHostWatch {
  private outstanding = 0;
  private timer: CancellationScope | null = null;
  private silent = false;
  private reason: string | null = null;

  /**
   * `host`: the results host's name once the sweep knows it. `enabled`: false for runs replayed
   * from histories without the watch's timers (its patch).
   */
  constructor(
    private readonly host: () => string | undefined,
    private readonly changed: () => void,
    private readonly fail: (error: unknown) => void,
    private readonly enabled: boolean,
  ) {}

  /** The line to show, or null while the host keeps up. */
  get waiting(): string | null {
    if (!this.silent) return null;
    const name = this.host();
    return `waiting for the results host${name ? ` ${name}` : ''}: ${this.reason ?? `no answer for ${SILENT_SECONDS} s (is a worker of that name running?)`}`;
  }

  /** `work` runs on the results host: it counts as outstanding until it settles. */
  track<T>(work: Promise<T>): Promise<T> {
    if (!this.enabled) return work;
    this.begin();
    return work.finally(() => this.end());
  }

  /** A file activity on the results host failed for a reason its operator can fix (a full disk, say). */
  troubled(reason: string): void {
    if (!this.enabled || this.outstanding === 0) return;
    this.reason = reason;
    if (this.silent) this.changed();
  }

  private begin(): void {
    this.outstanding++;
    if (this.timer) return;
    const timer = new CancellationScope();
    this.timer = timer;
    timer
      .run(() => sleep(`${SILENT_SECONDS} seconds`, { summary: RESULTS_HOST_CHECK }))
      .then(
        () => {
          if (this.timer === timer) this.timer = null;
          // A timer that fired in the same step as the last work's end is late: nothing waits.
          if (this.outstanding === 0) return;
          this.silent = true;
          this.changed();
        },
        (error: unknown) => {
          if (!isCancellation(error)) this.fail(error);
        },
      );
  }

  private end(): void {
    this.outstanding--;
    if (this.outstanding > 0) return;
    this.timer?.cancel();
    this.timer = null;
    const wasWaiting = this.silent;
    this.silent = false;
    this.reason = null;
    if (wasWaiting) this.changed();
  }
}
