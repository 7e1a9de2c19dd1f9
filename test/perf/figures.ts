/** Small helpers the perf modules share to turn measurements into table cells. */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

/** The value below which a fraction `q` of `values` lies (nearest rank). */
export function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

export const median = (values: number[]): number => quantile(values, 0.5);

/** How a row says whether its target held. */
export const met = (ok: boolean): string => (ok ? 'met' : 'MISSED');

/** The machine's busy CPU time so far, in seconds (every core; from /proc/stat, USER_HZ = 100). */
export function machineBusySeconds(): number {
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const [user, nice, system, , , irq, softirq] = fields.map(Number);
  return (user + nice + system + irq + softirq) / 100;
}

/** Busy CPU over a stretch of `wallSeconds`, as a share of every core's time. */
export const busyShare = (busySeconds: number, wallSeconds: number): number => busySeconds / (wallSeconds * cpus().length);
