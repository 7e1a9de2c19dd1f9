/**
 * A node's GPU lanes (docs/dispatcher-core.md; docs/sweeps.md, Retries): one trial per GPU, the
 * GPU idle longest taken first, excluded GPUs passed over, a retry placed on another GPU than the
 * one it failed on when there is one, and at most one standby, behind a GPU's started attempt.
 * The oracle leaves which GPU a job takes to the core (a preference, not a limit): it is checked
 * here. The lanes are built by hand, so each expected answer can be read off them.
 */
import { describe, expect, it } from 'vitest';
import { ahead, busyGpus, emptyLanes, freeGpu, release, seat, standbyGpu } from '../../../src/shared/dispatch/lanes';
import type { Lanes } from '../../../src/shared/dispatch/state';
import type { SweepNode } from '../../../src/shared/nodes';

const rig = (gpuCount: number, maxConcurrent = gpuCount): SweepNode => ({
  name: 'rig',
  hostname: 'rig',
  scriptPath: '/w',
  pythonEnv: 'python3',
  gpuCount,
  maxConcurrent,
  staggerSeconds: 0,
  isLocal: false,
  isRocm: false,
});

const none = () => false;
const started = () => true;

describe('freeGpu', () => {
  it('takes the GPU idle longest, passing over excluded ones', () => {
    const lanes: Lanes = { free: [2, 0, 1], seats: {}, busyOrder: [] };
    expect(freeGpu(lanes, rig(3), none)).toBe(2);
    expect(freeGpu(lanes, rig(3), (gpu) => gpu === 2)).toBe(0);
    expect(freeGpu(lanes, rig(3), () => true)).toBeUndefined();
  });

  it('places a retry on another GPU than the one it failed on, unless that is the only one', () => {
    const lanes: Lanes = { free: [2, 0, 1], seats: {}, busyOrder: [] };
    expect(freeGpu(lanes, rig(3), none, 2)).toBe(0);
    expect(freeGpu(lanes, rig(3), none, 0)).toBe(2);
    expect(freeGpu(lanes, rig(3), (gpu) => gpu !== 2, 2)).toBe(2);
  });

  it('takes none once the node runs its max_concurrent_script_jobs', () => {
    const lanes: Lanes = { free: [2, 3], seats: { 0: [11], 1: [12] }, busyOrder: [0, 1] };
    expect(freeGpu(lanes, rig(4, 2), none)).toBeUndefined();
    expect(freeGpu(lanes, rig(4, 3), none)).toBe(2);
  });
});

describe('standbyGpu', () => {
  // GPU 0 began first; GPU 2 already has a standby; GPU 1's attempt (13) has not reported its start.
  const lanes: Lanes = { free: [], seats: { 0: [10], 1: [13], 2: [11, 14], 3: [12] }, busyOrder: [0, 2, 1, 3] };
  const hasStarted = (work: number) => work !== 13;

  it('takes the GPU whose attempt began first, with one started attempt and no standby yet', () => {
    expect(standbyGpu(lanes, none, hasStarted)).toBe(0);
    expect(standbyGpu(lanes, (gpu) => gpu === 0, hasStarted)).toBe(3);
    expect(standbyGpu(lanes, (gpu) => gpu === 0, started)).toBe(1);
    expect(standbyGpu(lanes, (gpu) => gpu !== 2, started)).toBeUndefined();
  });

  it('prefers another GPU than the one to avoid, unless that is the only one', () => {
    expect(standbyGpu(lanes, none, hasStarted, 0)).toBe(3);
    expect(standbyGpu(lanes, none, hasStarted, 3)).toBe(0);
    expect(standbyGpu(lanes, (gpu) => gpu !== 3, hasStarted, 3)).toBe(3);
  });

  it('takes none on a node with nothing running', () => {
    expect(standbyGpu(emptyLanes(rig(2)), none, started)).toBeUndefined();
  });
});

describe('seat, ahead and release', () => {
  it('a standby waits behind the holder and takes the GPU when the holder ends', () => {
    const lanes = emptyLanes(rig(2));
    seat(lanes, 0, 1);
    seat(lanes, 1, 2);
    seat(lanes, 0, 3);
    expect(busyGpus(lanes)).toBe(2);
    expect(ahead(lanes, 0, 3)).toBe(1);
    expect(ahead(lanes, 0, 1)).toBeUndefined();
    expect(ahead(lanes, 1, 3)).toBeUndefined();
    // The holder ends: the standby holds GPU 0, now the GPU whose attempt began last.
    expect(release(lanes, 0, 1)).toBe(3);
    expect(lanes).toEqual({ free: [], seats: { 0: [3], 1: [2] }, busyOrder: [1, 0] });
    expect(ahead(lanes, 0, 3)).toBeUndefined();
  });

  it('a standby taken back leaves the holder on its GPU', () => {
    const lanes: Lanes = { free: [1], seats: { 0: [1, 3] }, busyOrder: [0] };
    expect(release(lanes, 0, 3)).toBeUndefined();
    expect(lanes).toEqual({ free: [1], seats: { 0: [1] }, busyOrder: [0] });
  });

  it('the last attempt on a GPU frees it, idle from now: taken after the GPUs idle longer', () => {
    const lanes: Lanes = { free: [1], seats: { 0: [1], 2: [2] }, busyOrder: [0, 2] };
    expect(release(lanes, 0, 1)).toBeUndefined();
    expect(lanes).toEqual({ free: [1, 0], seats: { 2: [2] }, busyOrder: [2] });
  });

  it('an attempt the GPU does not hold changes nothing', () => {
    const lanes: Lanes = { free: [1], seats: { 0: [1] }, busyOrder: [0] };
    expect(release(lanes, 1, 7)).toBeUndefined();
    expect(release(lanes, 0, 7)).toBeUndefined();
    expect(lanes).toEqual({ free: [1], seats: { 0: [1] }, busyOrder: [0] });
    expect(ahead(lanes, 1, 7)).toBeUndefined();
  });
});
