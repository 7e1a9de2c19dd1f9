/**
 * A node's GPUs: which are free, preferring the one idle longest so every GPU gets work, and
 * passing over GPUs an operator excluded.
 */
import type { SweepNode } from '../shared/nodes';

export class GpuLanes {
  private readonly free: number[];
  private busy = 0;

  constructor(
    private readonly node: SweepNode,
    private readonly isExcluded: (gpu: number) => boolean = () => false,
  ) {
    this.free = Array.from({ length: node.gpuCount }, (_, gpu) => gpu);
  }

  canStart(): boolean {
    return this.busy < this.node.maxConcurrent && this.free.some((gpu) => !this.isExcluded(gpu));
  }

  /** Takes the usable GPU idle longest, passing over `avoid` (where the job just failed) when another is free. */
  take(avoid?: number): number {
    const usable = this.free.filter((gpu) => !this.isExcluded(gpu));
    const gpu = usable.length > 1 && usable[0] === avoid ? usable[1] : usable[0];
    this.busy++;
    this.free.splice(this.free.indexOf(gpu), 1);
    return gpu;
  }

  /** Nothing runs on this node. */
  idle(): boolean {
    return this.busy === 0;
  }

  release(gpu: number): void {
    this.busy--;
    this.free.push(gpu);
  }
}
