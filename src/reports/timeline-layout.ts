/**
 * Where things go in the timeline picture: one lane per GPU, a time scale wide enough that a
 * typical trial is still a visible bar, axis ticks at round times, and label rows that drop a
 * label rather than print it over its neighbour.
 */
import type { TimelineEntry } from '../shared/timeline';
import type { ReportAttempt } from './attempts';

export interface GpuLane {
  node: string;
  gpu: number;
}

/** Every GPU of the configured nodes (config order, so idle GPUs show), plus any GPU an attempt ran on. */
export function listLanes(nodes: { name: string; gpuCount: number }[], attempts: ReportAttempt[]): GpuLane[] {
  const gpusByNode = new Map<string, Set<number>>();
  for (const node of nodes) gpusByNode.set(node.name, new Set(Array.from({ length: node.gpuCount }, (_, gpu) => gpu)));
  for (const attempt of attempts) {
    if (!gpusByNode.has(attempt.node)) gpusByNode.set(attempt.node, new Set());
    gpusByNode.get(attempt.node)!.add(attempt.gpu);
  }
  return [...gpusByNode].flatMap(([node, gpus]) => [...gpus].sort((a, b) => a - b).map((gpu) => ({ node, gpu })));
}

const MIN_PLOT_WIDTH = 1100;
/** Past this the browser still scrolls smoothly and the file stays small. */
const MAX_PLOT_WIDTH = 12000;
/** A trial of median length should be at least this wide, so a long sweep scrolls instead of turning into hairlines. */
const MEDIAN_BAR_PX = 4;

export interface TimeScale {
  startMs: number;
  endMs: number;
  /** x of startMs (the width of the lane labels). */
  left: number;
  width: number;
  x(ms: number): number;
}

function median(values: number[]): number {
  const sorted = values.filter((value) => Number.isFinite(value) && value > 0).sort((a, b) => a - b);
  return sorted.length ? sorted[Math.floor(sorted.length / 2)] : 1;
}

/** The time span of every drawn attempt and timeline entry, mapped onto [left, left + width]. */
export function timeScale(attempts: ReportAttempt[], entries: TimelineEntry[], left: number): TimeScale {
  const starts = [...attempts.map((a) => a.startMs), ...entries.map((e) => e.start_ms)].filter(Number.isFinite);
  const ends = [...attempts.map((a) => a.startMs + a.runtimeSeconds * 1000), ...entries.map((e) => e.end_ms)].filter(Number.isFinite);
  // reduce, not Math.min(...): a spread of 40,000 attempts can overflow the call stack
  const startMs = starts.length ? starts.reduce((a, b) => Math.min(a, b)) : 0;
  const endMs = ends.reduce((a, b) => Math.max(a, b), startMs + 1000);
  const spanSeconds = (endMs - startMs) / 1000;
  const wanted = (spanSeconds / median(attempts.map((a) => a.runtimeSeconds))) * MEDIAN_BAR_PX;
  const width = Math.round(Math.min(MAX_PLOT_WIDTH, Math.max(MIN_PLOT_WIDTH, wanted)));
  return { startMs, endMs, left, width, x: (ms) => left + ((ms - startMs) / (endMs - startMs)) * width };
}

const TICK_STEPS_SECONDS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400];
const MIN_TICK_GAP_PX = 90;

/** Seconds since the start at which to draw a tick: the smallest round step that leaves room for its label. */
export function axisTicks(scale: TimeScale): number[] {
  const spanSeconds = (scale.endMs - scale.startMs) / 1000;
  const step = TICK_STEPS_SECONDS.find((s) => (s / spanSeconds) * scale.width >= MIN_TICK_GAP_PX) ?? TICK_STEPS_SECONDS.at(-1)!;
  return Array.from({ length: Math.floor(spanSeconds / step) + 1 }, (_, i) => i * step);
}

/** Rough width of sans-serif text (0.6 em a character); good enough to decide whether a label fits. */
export function textWidth(text: string, fontPx = 11): number {
  return text.length * fontPx * 0.6;
}

/** A row of labels: a label that would overlap one already placed is left out, so place the important ones first. */
export class LabelRow {
  private readonly taken: [number, number][] = [];

  /** True (and the space taken) when `text` fits at x without overlapping; `maxWidth` caps it to its band. */
  place(x: number, text: string, maxWidth = Infinity): boolean {
    const [start, end] = [x - 2, x + textWidth(text) + 2];
    if (end - start - 4 > maxWidth || this.taken.some(([s, e]) => start < e && s < end)) return false;
    this.taken.push([start, end]);
    return true;
  }
}
