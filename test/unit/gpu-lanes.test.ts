/** A node's GPU lanes: every GPU gets work, a failed GPU is passed over, excluded GPUs get none. */
import { describe, expect, it } from 'vitest';
import type { SweepNode } from '../../src/shared/nodes';
import { GpuLanes } from '../../src/workflows/gpu-lanes';

const node = (gpuCount: number, maxConcurrent = gpuCount) => ({ name: 'rig', gpuCount, maxConcurrent }) as SweepNode;

describe('GpuLanes', () => {
  it('hands out the GPU idle longest, up to max_concurrent', () => {
    const lanes = new GpuLanes(node(3, 2));
    expect([lanes.take(), lanes.take()]).toEqual([0, 1]);
    expect(lanes.canStart()).toBe(false);
    lanes.release(0);
    expect(lanes.take()).toBe(2);
  });

  it('passes over the GPU a job just failed on when another is free', () => {
    const lanes = new GpuLanes(node(2));
    expect(lanes.take(0)).toBe(1);
    expect(lanes.take(0)).toBe(0); // the only one left
  });

  it('never hands out an excluded GPU, and cannot start when only excluded ones are free', () => {
    const excluded = new Set([0, 2]);
    const lanes = new GpuLanes(node(3), (gpu) => excluded.has(gpu));
    expect(lanes.take()).toBe(1);
    expect(lanes.canStart()).toBe(false);
    excluded.delete(2); // re-admitted while the sweep runs
    expect(lanes.canStart()).toBe(true);
    expect(lanes.take()).toBe(2);
  });
});
