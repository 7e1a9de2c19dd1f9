/** A node's GPU lanes: every GPU gets work, a failed GPU is passed over, excluded GPUs get none, busy GPUs take one standby. */
import { describe, expect, it } from 'vitest';
import type { SweepNode } from '../../src/shared/nodes';
import { GpuLanes } from '../../src/workflows/gpu-lanes';

const node = (gpuCount: number, maxConcurrent = gpuCount) => ({ name: 'rig', gpuCount, maxConcurrent }) as SweepNode;

describe('GpuLanes', () => {
  it('hands out the GPU idle longest, up to max_concurrent', () => {
    const lanes = new GpuLanes(node(3, 2));
    expect([lanes.seat().gpu, lanes.seat().gpu]).toEqual([0, 1]);
    expect(lanes.canStart()).toBe(false);
    lanes.release(0);
    expect(lanes.seat().gpu).toBe(2);
  });

  it('passes over the GPU a job just failed on when another is free', () => {
    const lanes = new GpuLanes(node(2));
    expect(lanes.seat(0).gpu).toBe(1);
    expect(lanes.seat(0).gpu).toBe(0); // the only one left
  });

  it('never hands out an excluded GPU, and cannot start when only excluded ones are free', () => {
    const excluded = new Set([0, 2]);
    const lanes = new GpuLanes(node(3), (gpu) => excluded.has(gpu));
    expect(lanes.seat().gpu).toBe(1);
    expect(lanes.canStart()).toBe(false);
    excluded.delete(2); // re-admitted while the sweep runs
    expect(lanes.canStart()).toBe(true);
    expect(lanes.seat().gpu).toBe(2);
  });

  describe('with standby seats', () => {
    it('seats a standby behind the job that began first, only once every GPU is busy, one per GPU', () => {
      const lanes = new GpuLanes(node(2), undefined, () => true);
      expect([lanes.seat(), lanes.seat()]).toEqual([{ gpu: 0, standby: false }, { gpu: 1, standby: false }]);
      expect([lanes.seat(), lanes.seat()]).toEqual([{ gpu: 0, standby: true }, { gpu: 1, standby: true }]);
      expect(lanes.canStart()).toBe(false);
      lanes.release(1); // GPU 1's job ended: its standby holds the GPU, and may have one behind it
      expect(lanes.idle()).toBe(false);
      expect(lanes.seat()).toEqual({ gpu: 1, standby: true });
      lanes.release(0);
      lanes.release(0);
      expect(lanes.seat()).toEqual({ gpu: 0, standby: false }); // free again: a fresh start, not a standby
    });

    it('counts a node idle only when every job and standby has ended', () => {
      const lanes = new GpuLanes(node(1), undefined, () => true);
      lanes.seat();
      lanes.seat();
      lanes.release(0);
      expect(lanes.idle()).toBe(false);
      lanes.release(0);
      expect(lanes.idle()).toBe(true);
    });

    it('keeps max_concurrent for running jobs: a standby waits behind one of them', () => {
      const lanes = new GpuLanes(node(3, 1), undefined, () => true);
      expect(lanes.seat()).toEqual({ gpu: 0, standby: false });
      expect(lanes.seat()).toEqual({ gpu: 0, standby: true });
      expect(lanes.canStart()).toBe(false);
    });

    it('seats no standby on an excluded GPU, nor while the node is staggered', () => {
      let staggered = false;
      const excluded = new Set<number>();
      const lanes = new GpuLanes(node(2), (gpu) => excluded.has(gpu), () => !staggered);
      lanes.seat();
      lanes.seat();
      excluded.add(0);
      expect(lanes.seat()).toEqual({ gpu: 1, standby: true });
      lanes.release(1);
      staggered = true;
      expect(lanes.canStart()).toBe(false);
    });

    it('prefers another GPU for a retry of a job that failed on this one', () => {
      const lanes = new GpuLanes(node(2), undefined, () => true);
      lanes.seat();
      lanes.seat();
      expect(lanes.seat(0)).toEqual({ gpu: 1, standby: true });
    });
  });
});
