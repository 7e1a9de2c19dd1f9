/** Small helpers the perf modules share to turn measurements into table cells. */

/** The value below which a fraction `q` of `values` lies (nearest rank). */
export function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

export const median = (values: number[]): number => quantile(values, 0.5);

/** How a row says whether its target held. */
export const met = (ok: boolean): string => (ok ? 'met' : 'MISSED');
