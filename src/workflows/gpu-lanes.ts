/** A node's GPUs: which are free, preferring the one idle longest so every GPU gets work. */
import type { SweepNode } from '../shared/nodes';

export class GpuLanes {
  private readonly free: number[];
  private busy = 0;

  constructor(private readonly node: SweepNode) {
    this.free = Array.from({ length: node.gpuCount }, (_, gpu) => gpu);
  }

  canStart(): boolean {
    return this.busy < this.node.maxConcurrent && this.free.length > 0;
  }

  /** Takes the GPU idle longest, passing over `avoid` (where the job just failed) when another is free. */
  take(avoid?: number): number {
    this.busy++;
    const index = this.free.length > 1 && this.free[0] === avoid ? 1 : 0;
    return this.free.splice(index, 1)[0];
  }

  release(gpu: number): void {
    this.busy--;
    this.free.push(gpu);
  }
}
