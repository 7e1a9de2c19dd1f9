/**
 * A node's GPU lanes, as plain data: one trial per GPU, the GPU idle longest taken first so every
 * GPU gets work (the seed left GPUs 6-7 of a rig idle), GPUs an operator excluded passed over.
 * A busy GPU may take one standby behind its started attempt: the next job is sent at once and
 * waits on the node for the GPU's lock, so it starts the moment the running one exits. The node
 * still runs one trial per GPU and at most `maxConcurrent`: a standby holds no slot until then.
 * Pure code.
 */
import type { SweepNode } from '../nodes';
import type { Lanes } from './state';

export function emptyLanes(node: SweepNode): Lanes {
  return { free: Array.from({ length: node.gpuCount }, (_, gpu) => gpu), seats: {}, busyOrder: [] };
}

/** GPUs with an attempt on them. */
export function busyGpus(lanes: Lanes): number {
  return Object.keys(lanes.seats).length;
}

/** A free GPU may be taken: under the node's concurrency, and one is free and usable. */
export function freeGpu(lanes: Lanes, node: SweepNode, isExcluded: (gpu: number) => boolean, avoid?: number): number | undefined {
  if (busyGpus(lanes) >= node.maxConcurrent) return undefined;
  const usable = lanes.free.filter((gpu) => !isExcluded(gpu));
  return usable.length > 1 && usable[0] === avoid ? usable[1] : usable[0];
}

/**
 * A busy GPU that may take a standby: exactly one attempt there, already started — sent behind an
 * attempt still on its way, a standby could reach the node first and take the GPU ahead of it.
 */
export function standbyGpu(lanes: Lanes, isExcluded: (gpu: number) => boolean, hasStarted: (work: number) => boolean, avoid?: number): number | undefined {
  const usable = lanes.busyOrder.filter((gpu) => !isExcluded(gpu) && lanes.seats[gpu].length === 1 && hasStarted(lanes.seats[gpu][0]));
  return usable.length > 1 && usable[0] === avoid ? usable[1] : usable[0];
}

/** Seats attempt `work` on `gpu`: it holds a free GPU, or waits behind the attempt holding a busy one. */
export function seat(lanes: Lanes, gpu: number, work: number): void {
  const seats = lanes.seats[gpu];
  if (seats) {
    seats.push(work);
    return;
  }
  lanes.free.splice(lanes.free.indexOf(gpu), 1);
  lanes.seats[gpu] = [work];
  lanes.busyOrder.push(gpu);
}

/** The attempt holding `gpu` before `work`, if `work` waits behind one. */
export function ahead(lanes: Lanes, gpu: number, work: number): number | undefined {
  const seats = lanes.seats[gpu] as number[] | undefined;
  // The holder (index 0) or an attempt not seated (-1) has nobody ahead: a negative index reads undefined.
  return seats?.[seats.indexOf(work) - 1];
}

/** An attempt ended: the one behind it (if any) now holds the GPU — returned — or the GPU is free. */
export function release(lanes: Lanes, gpu: number, work: number): number | undefined {
  const seats = lanes.seats[gpu] ?? [];
  const left = seats.filter((other) => other !== work);
  if (seats[0] !== work) {
    // A standby taken back: the holder keeps the GPU.
    if (left.length) lanes.seats[gpu] = left;
    return undefined;
  }
  lanes.busyOrder.splice(lanes.busyOrder.indexOf(gpu), 1);
  if (left.length > 0) {
    lanes.seats[gpu] = left;
    lanes.busyOrder.push(gpu);
    return left[0];
  }
  delete lanes.seats[gpu];
  lanes.free.push(gpu);
  return undefined;
}
