/**
 * A node's GPUs: which are free, preferring the one idle longest so every GPU gets work, and
 * passing over GPUs an operator excluded.
 *
 * With `standby`, a GPU whose job runs may take one more: the next job is dispatched at once and
 * waits on the node for the GPU's lock, so it starts the moment the running one exits instead of
 * a dispatch round trip later (issue 6). The node still runs one trial per GPU and at most
 * `max_concurrent_script_jobs`: a standby holds no slot until it starts.
 */
import type { SweepNode } from '../shared/nodes';

/** An attempt's place on a GPU: holding it, or (a standby) waiting behind the attempt holding it. */
export interface LaneSeat {
  gpu: number;
  /** Its process runs (the node gave it the GPU): only then may a standby wait behind it. */
  started: boolean;
  /** A standby's (and only a standby has one): the attempt holding the GPU, whose end lets it start. */
  ahead?: LaneSeat;
  /** Set by the dispatcher: when the attempt's activity ended. */
  ended?: Promise<unknown>;
}

export class GpuLanes {
  private readonly free: number[];
  /** Each busy GPU's attempts, oldest first. */
  private readonly seats = new Map<number, LaneSeat[]>();
  /** Busy GPUs, the one whose current attempt began first leading (it is likely to free first). */
  private readonly busyOrder: number[] = [];
  private busy = 0;

  constructor(
    private readonly node: SweepNode,
    private readonly isExcluded: (gpu: number) => boolean = () => false,
    /** Whether a busy GPU may take a standby now (steering may change the node's stagger). */
    private readonly standby: () => boolean = () => false,
  ) {
    this.free = Array.from({ length: node.gpuCount }, (_, gpu) => gpu);
  }

  canStart(): boolean {
    return this.canStartFresh() || this.standbyGpu() !== undefined;
  }

  /**
   * Takes the usable GPU idle longest, passing over `avoid` (where the job just failed) when another
   * is free; with none free, a standby seat behind the started job that began first.
   */
  seat(avoid?: number): LaneSeat {
    if (!this.canStartFresh()) {
      const gpu = this.standbyGpu(avoid)!;
      const seat = { gpu, started: false, ahead: this.seats.get(gpu)![0] };
      this.seats.get(gpu)!.push(seat);
      return seat;
    }
    const usable = this.free.filter((gpu) => !this.isExcluded(gpu));
    const seat: LaneSeat = { gpu: usable.length > 1 && usable[0] === avoid ? usable[1] : usable[0], started: false };
    this.busy++;
    this.free.splice(this.free.indexOf(seat.gpu), 1);
    this.busyOrder.push(seat.gpu);
    this.seats.set(seat.gpu, [seat]);
    return seat;
  }

  /** The attempt's process runs on its GPU: a standby may now wait behind it without overtaking it. */
  started(seat: LaneSeat): void {
    seat.started = true;
  }

  /** Nothing runs on this node. */
  idle(): boolean {
    return this.busy === 0;
  }

  /** An attempt ended: the one behind it (if any) now holds the GPU, or the GPU is free. */
  release(seat: LaneSeat): void {
    const { gpu } = seat;
    const left = this.seats.get(gpu)!.filter((other) => other !== seat);
    this.seats.set(gpu, left);
    this.busyOrder.splice(this.busyOrder.indexOf(gpu), 1);
    if (left.length > 0) {
      this.busyOrder.push(gpu);
      return;
    }
    this.busy--;
    this.free.push(gpu);
  }

  private canStartFresh(): boolean {
    return this.busy < this.node.maxConcurrent && this.free.some((gpu) => !this.isExcluded(gpu));
  }

  /**
   * A busy GPU that may take a standby: one attempt there, already started — dispatched behind an
   * attempt still on its way, a standby could reach the node first and take the GPU ahead of it.
   */
  private standbyGpu(avoid?: number): number | undefined {
    if (!this.standby()) return undefined;
    const usable = this.busyOrder.filter((gpu) => !this.isExcluded(gpu) && this.seats.get(gpu)!.length === 1 && this.seats.get(gpu)![0].started);
    return usable.length > 1 && usable[0] === avoid ? usable[1] : usable[0];
  }
}
