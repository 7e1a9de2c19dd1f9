/**
 * The words and numbers of `rigsweep watch`: pure functions from a sweep's progress (and the
 * time now) to the lines a person reads. The terminal view (progress-view.ts) only places them;
 * keeping them here lets the tests check every figure without a terminal.
 */
import type { NodeProgress, SweepProgress } from '../shared/progress';

/** Node names longer than this are shortened, so a long ssh alias cannot push the state off screen. */
export const MAX_NAME_WIDTH = 22;
/** A node line shows at most this many GPUs one by one; more are summed up as `+N`. */
const MAX_GPU_STRIP = 16;
const STATE_WIDTH = 'cooling down'.length;

export interface SweepRate {
  /** Finished trials per minute since the sweep started; null until one finished. */
  perMinute: number | null;
  /** Seconds until every job is done at that rate; null while the rate is unknown. */
  etaSeconds: number | null;
}

/**
 * Trials per minute over the whole sweep and the time left at that pace. `startedAtMs` is the
 * workflow's clock and `nowMs` the watcher's; a skew that puts the start in the future reads as
 * "not known yet" rather than as a negative rate.
 */
export function sweepRate(progress: Pick<SweepProgress, 'done' | 'totalJobs' | 'startedAtMs'>, nowMs: number): SweepRate {
  const elapsedMs = nowMs - (progress.startedAtMs || nowMs);
  if (progress.done <= 0 || elapsedMs < 1000) return { perMinute: null, etaSeconds: null };
  const perMinute = (progress.done * 60_000) / elapsedMs;
  const left = Math.max(0, progress.totalJobs - progress.done);
  return { perMinute, etaSeconds: (left / perMinute) * 60 };
}

/** `45s`, `3m 05s`, `2h 10m`: as precise as a person needs for a sweep that runs minutes to hours. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function formatRate(perMinute: number | null): string {
  if (perMinute === null) return '–/min';
  return `${perMinute >= 10 ? Math.round(perMinute) : perMinute.toFixed(1)}/min`;
}

/** Where the sweep is: its name, batch and phase, PAUSED once an operator asked for it, and what it waits for. */
export function headerLine(progress: SweepProgress, workflowId: string): string {
  const ids = progress.runId ? `${workflowId}, run ${progress.runId}` : workflowId;
  const name = progress.sweepName ? `${progress.sweepName} (${ids})` : ids;
  const where = progress.batch ? `batch ${progress.batch}/${progress.batchCount} · ${progress.phase}` : progress.phase;
  return [`sweep ${name}`, where, progress.pauseRequested ? 'PAUSED: no new batch starts until resume' : '', progress.waiting ?? '']
    .filter(Boolean)
    .join(' · ');
}

/** The figures next to the overall bar: done/total, failed, running, retried, pace and ETA. */
export function countsLine(progress: SweepProgress, nowMs: number): string {
  const { perMinute, etaSeconds } = sweepRate(progress, nowMs);
  const eta = progress.totalJobs > 0 && progress.done >= progress.totalJobs ? 'ETA 0s' : `ETA ${etaSeconds === null ? '–' : formatDuration(etaSeconds)}`;
  return [
    `${progress.done}/${progress.totalJobs} done`,
    `${progress.failed} failed`,
    `${progress.running} running`,
    `${progress.retries} retried`,
    formatRate(perMinute),
    eta,
  ].join(' · ');
}

/** The plain, one-line summary for logs and pipes (no terminal to redraw in). */
export function summaryLine(progress: SweepProgress, nowMs: number): string {
  const where = progress.batch ? `batch ${progress.batch}/${progress.batchCount} ${progress.phase}` : progress.phase;
  return `[PROGRESS] ${where}${progress.pauseRequested ? ' (PAUSED)' : ''}: ${countsLine(progress, nowMs)}`;
}

/** How a node's state reads on screen: a node with jobs running is simply healthy. */
export function nodeStateLabel(node: Pick<NodeProgress, 'state'>): string {
  return node.state === 'running' ? 'ok' : node.state;
}

/** One mark per GPU: `■` running a job, `□` idle, `×` excluded by an operator. */
export function gpuStrip(node: Pick<NodeProgress, 'gpuCount' | 'busyGpus' | 'excludedGpus'>): string {
  const shown = Math.min(node.gpuCount, MAX_GPU_STRIP);
  let strip = '';
  for (let gpu = 0; gpu < shown; gpu++) strip += node.excludedGpus.includes(gpu) ? '×' : node.busyGpus.includes(gpu) ? '■' : '□';
  return node.gpuCount > shown ? `${strip}+${node.gpuCount - shown}` : strip;
}

/** A name cut to `width` with an ellipsis, then padded, so the columns after it line up. */
export function fitName(name: string, width: number): string {
  const chars = [...name];
  return (chars.length > width ? chars.slice(0, width - 1).join('') + '…' : name).padEnd(width);
}

/** Column widths shared by every node line, so states and results line up under each other. */
export interface NodeColumns {
  name: number;
  strip: number;
}

/** The name column fits the longest name up to MAX_NAME_WIDTH; the GPU column the node with most GPUs. */
export function nodeColumns(nodes: Pick<NodeProgress, 'name' | 'gpuCount'>[]): NodeColumns {
  return {
    name: Math.min(MAX_NAME_WIDTH, Math.max(4, ...nodes.map((node) => [...node.name].length))),
    strip: Math.max(4, ...nodes.map((node) => stripWidth(node.gpuCount))),
  };
}

function stripWidth(gpuCount: number): number {
  return gpuCount > MAX_GPU_STRIP ? MAX_GPU_STRIP + `+${gpuCount - MAX_GPU_STRIP}`.length : gpuCount;
}

/** One node's line: name, GPU strip, busy count, state, its results and the last job it finished. */
export function nodeLine(node: NodeProgress, columns: NodeColumns): string {
  const parts = [
    `${fitName(node.name, columns.name)} ${gpuStrip(node).padEnd(columns.strip)} ${`${node.busyGpus.length}/${node.gpuCount} busy`.padEnd(10)}`,
    nodeStateLabel(node).padEnd(STATE_WIDTH),
    `${node.done} done, ${node.failed} failed`.padEnd(18),
  ];
  const last = node.lastFinished;
  if (last) parts.push(`last ${last.job_id} ${last.success ? '✓' : '✗'} ${last.runtime.toFixed(1)}s`);
  if (node.excludedGpus.length > 0) parts.push(`excluded GPU ${node.excludedGpus.join(',')}`);
  return `  ${parts.join('  ')}`.trimEnd();
}

/** How the sweep ended, as `watch` reports it and turns it into an exit code. */
export type SweepEnd =
  | { kind: 'completed'; totalJobs: number; successful: number; failed: number; runtimeSeconds: number; stoppedReason: string | null }
  | { kind: 'failed' | 'cancelled' | 'terminated' | 'timed out'; message?: string };

/**
 * The last line of `watch`. A completed sweep is summed up from its Results JSON (the totals the
 * workflow wrote down); an ended one from the last progress seen, when there was any.
 */
export function finalSummaryLine(workflowId: string, end: SweepEnd, last: SweepProgress | undefined): string {
  const retried = last ? `, ${last.retries} retried` : '';
  const where = last?.resultsDir ? ` — results in ${last.resultsDir}` : '';
  if (end.kind === 'completed') {
    const done = end.successful + end.failed;
    const pace = end.runtimeSeconds > 0 && done > 0 ? ` (${formatRate((done * 60) / end.runtimeSeconds)})` : '';
    const stopped = end.stoppedReason ? `; stopped early: ${end.stoppedReason}` : '';
    return `sweep ${workflowId} completed in ${formatDuration(end.runtimeSeconds)}: ${done}/${end.totalJobs} done, ${end.failed} failed${retried}${pace}${stopped}${where}`;
  }
  const counts = last ? `: ${last.done}/${last.totalJobs} done, ${last.failed} failed${retried}` : '';
  return `sweep ${workflowId} ${end.kind}${end.message ? ` (${end.message})` : ''}${counts}${where}`;
}
