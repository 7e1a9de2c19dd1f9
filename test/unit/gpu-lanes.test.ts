/** A node's GPU lanes: every GPU gets work, a failed GPU is passed over, excluded GPUs get none, started GPUs take one standby. */
import { describe, expect, it } from 'vitest';
import type { SweepNode } from '../../src/shared/nodes';
import { GpuLanes, type LaneSeat } from '../../src/workflows/gpu-lanes';

const node = (gpuCount: number, maxConcurrent = gpuCount) => ({ name: 'rig', gpuCount, maxConcurrent }) as SweepNode;
const place = ({ gpu, ahead }: LaneSeat) => ({ gpu, standby: ahead !== undefined });

describe('GpuLanes', () => {
  it('hands out the GPU idle longest, up to max_concurrent', () => {
    const lanes = new GpuLanes(node(3, 2));
    const [first, second] = [lanes.seat(), lanes.seat()];
    expect([first.gpu, second.gpu]).toEqual([0, 1]);
    expect(lanes.canStart()).toBe(false);
    lanes.release(first);
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
    const startedLanes = (gpus: number, maxConcurrent = gpus) => {
      const lanes = new GpuLanes(node(gpus, maxConcurrent), undefined, () => true);
      const seats = Array.from({ length: maxConcurrent }, () => lanes.seat());
      return { lanes, seats };
    };

    it('seats a standby only behind a job whose start is confirmed: one sent right behind a job on its way could overtake it', () => {
      const { lanes, seats } = startedLanes(2);
      expect(lanes.canStart()).toBe(false);
      lanes.started(seats[1]);
      expect(place(lanes.seat())).toEqual({ gpu: 1, standby: true });
      expect(lanes.canStart()).toBe(false);
    });

    it('seats it behind the job that began first, one per GPU; once the job ends, the standby holds the GPU', () => {
      const { lanes, seats } = startedLanes(2);
      seats.forEach((seat) => lanes.started(seat));
      const [behind0, behind1] = [lanes.seat(), lanes.seat()];
      expect([place(behind0), place(behind1)]).toEqual([{ gpu: 0, standby: true }, { gpu: 1, standby: true }]);
      expect(lanes.canStart()).toBe(false);
      lanes.release(seats[1]);
      expect(lanes.canStart()).toBe(false); // its standby has not confirmed its start yet
      lanes.started(behind1);
      expect(place(lanes.seat())).toEqual({ gpu: 1, standby: true });
    });

    it('frees a GPU only when every attempt on it has ended, in any order', () => {
      const { lanes, seats } = startedLanes(1);
      lanes.started(seats[0]);
      const behind = lanes.seat();
      lanes.release(behind); // withdrawn before the job ahead of it ended
      expect(lanes.idle()).toBe(false);
      lanes.release(seats[0]);
      expect(lanes.idle()).toBe(true);
      expect(place(lanes.seat())).toEqual({ gpu: 0, standby: false });
    });

    it('keeps max_concurrent for running jobs: a standby waits behind one of them', () => {
      const { lanes, seats } = startedLanes(3, 1);
      lanes.started(seats[0]);
      expect(place(lanes.seat())).toEqual({ gpu: 0, standby: true });
      expect(lanes.canStart()).toBe(false);
    });

    it('seats no standby on an excluded GPU, nor while the node is staggered', () => {
      let staggered = false;
      const excluded = new Set<number>();
      const lanes = new GpuLanes(node(2), (gpu) => excluded.has(gpu), () => !staggered);
      const seats = [lanes.seat(), lanes.seat()];
      seats.forEach((seat) => lanes.started(seat));
      excluded.add(0);
      expect(place(lanes.seat())).toEqual({ gpu: 1, standby: true });
      lanes.release(seats[1]);
      staggered = true;
      expect(lanes.canStart()).toBe(false);
    });

    it('prefers another GPU for a retry of a job that failed on this one', () => {
      const { lanes, seats } = startedLanes(2);
      seats.forEach((seat) => lanes.started(seat));
      expect(place(lanes.seat(0))).toEqual({ gpu: 1, standby: true });
    });
  });
});
