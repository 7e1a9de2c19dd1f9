/**
 * What happened between the trials: batch spans, rig resets, cooldowns and pauses, appended to
 * `timeline.jsonl` in the run's results folder as each batch is recorded. The HTML report shades
 * them behind the trials' bars. Times are epoch milliseconds (workflow time).
 */

export type TimelineEntry =
  /** A batch, from its first dispatch to its last job's end. */
  | { kind: 'batch'; batch: number; start_ms: number; end_ms: number }
  /** One rig's reset before `batch` (1-based: the batch that follows it). */
  | { kind: 'reset'; batch: number; node: string; start_ms: number; end_ms: number; ok: boolean }
  /** The cooldown before `batch`; with `node`, that node's own cooldown in rolling mode. */
  | { kind: 'cooldown'; batch: number; start_ms: number; end_ms: number; node?: string }
  /** An operator's pause before `batch`, until resume. */
  | { kind: 'pause'; batch: number; start_ms: number; end_ms: number };
