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

/** Where an attempt goes: its GPU, and whether it waits there behind a running job. */
export interface LaneSeat {
  gpu: number;
  standby: boolean;
}

export class GpuLanes {
  private readonly free: number[];
  /** GPUs with a job and no standby yet, the longest-running first (likely to free first). */
  private readonly single: number[] = [];
  private readonly attempts = new Map<number, number>();
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
   * is free; with none free, a standby seat behind the running job that began first.
   */
  seat(avoid?: number): LaneSeat {
    if (!this.canStartFresh()) {
      const gpu = this.standbyGpu(avoid)!;
      this.single.splice(this.single.indexOf(gpu), 1);
      this.attempts.set(gpu, 2);
      return { gpu, standby: true };
    }
    const usable = this.free.filter((gpu) => !this.isExcluded(gpu));
    const gpu = usable.length > 1 && usable[0] === avoid ? usable[1] : usable[0];
    this.busy++;
    this.free.splice(this.free.indexOf(gpu), 1);
    this.single.push(gpu);
    this.attempts.set(gpu, 1);
    return { gpu, standby: false };
  }

  /** Nothing runs on this node. */
  idle(): boolean {
    return this.busy === 0;
  }

  /** An attempt on `gpu` ended: its standby (if any) now holds the GPU, or the GPU is free. */
  release(gpu: number): void {
    const left = (this.attempts.get(gpu) ?? 1) - 1;
    this.attempts.set(gpu, left);
    if (left > 0) {
      this.single.push(gpu);
      return;
    }
    this.busy--;
    this.single.splice(this.single.indexOf(gpu), 1);
    this.free.push(gpu);
  }

  private canStartFresh(): boolean {
    return this.busy < this.node.maxConcurrent && this.free.some((gpu) => !this.isExcluded(gpu));
  }

  private standbyGpu(avoid?: number): number | undefined {
    if (!this.standby()) return undefined;
    const usable = this.single.filter((gpu) => !this.isExcluded(gpu));
    return usable.length > 1 && usable[0] === avoid ? usable[1] : usable[0];
  }
}
