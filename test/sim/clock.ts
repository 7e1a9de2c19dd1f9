/** What the simulated cluster keeps time with. */
export interface Clock {
  readonly now: number;
  at(at: number, run: () => void | Promise<void>): void;
  after(ms: number, run: () => void | Promise<void>): void;
}

/** A virtual clock: callbacks run in time order (then in the order they were scheduled). */
export class VirtualClock implements Clock {
  now = 0;
  private queue: { at: number; seq: number; run: () => void | Promise<void> }[] = [];
  private seq = 0;

  at(at: number, run: () => void | Promise<void>): void {
    const entry = { at: Math.max(at, this.now), seq: this.seq++, run };
    // Insert in order: the queue stays sorted, so the next callback is always at its front.
    let low = 0;
    let high = this.queue.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      const other = this.queue[mid];
      if (other.at < entry.at || (other.at === entry.at && other.seq < entry.seq)) low = mid + 1;
      else high = mid;
    }
    this.queue.splice(low, 0, entry);
  }

  after(ms: number, run: () => void | Promise<void>): void {
    this.at(this.now + ms, run);
  }

  /** Runs the next callback; false when none is left. */
  async next(): Promise<boolean> {
    const entry = this.queue.shift();
    if (!entry) return false;
    this.now = entry.at;
    await entry.run();
    return true;
  }
}

/**
 * Simulated time on the real clock, `speed` times faster: for the workflow tier, where the
 * activities that stand for node work run while a real worker and a real (time-skipping) server
 * go on around them.
 */
export class RealTimeClock implements Clock {
  private readonly origin = performance.now();
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(private readonly speed: number) {}

  get now(): number {
    return Math.round((performance.now() - this.origin) * this.speed);
  }

  at(at: number, run: () => void | Promise<void>): void {
    if (this.stopped) return;
    const timer = setTimeout(
      () => {
        this.timers.delete(timer);
        if (!this.stopped) void Promise.resolve(run()).catch((error: unknown) => this.onError(error));
      },
      Math.max(0, (at - this.now) / this.speed),
    );
    this.timers.add(timer);
  }

  after(ms: number, run: () => void | Promise<void>): void {
    this.at(this.now + ms, run);
  }

  /** A callback's failure (an invariant broken in the cluster): kept for the test to throw. */
  errors: unknown[] = [];
  private onError(error: unknown): void {
    this.errors.push(error);
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
  }
}
