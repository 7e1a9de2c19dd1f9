/**
 * The numbers an operator may change while a sweep runs (`rigsweep set`, or a `set` update from
 * any Temporal client), checked before they are accepted: a bad value is rejected with a message
 * and the sweep goes on unchanged. Pure code: the workflow's update validator calls it.
 */
import type { SettingsChange } from './names';
import type { LiveSettings } from './progress';

const WHOLE_AT_LEAST_ONE = ['max_jobs_per_batch', 'max_jobs_per_node_per_batch'] as const;
const SECONDS = ['inter_batch_cooldown_seconds', 'stagger_delay'] as const;
const KNOWN_KEYS: readonly string[] = [...WHOLE_AT_LEAST_ONE, ...SECONDS, 'node'];
/** A day: larger values are almost certainly a typo (milliseconds for seconds). */
const MAX_SECONDS = 86_400;

/** Every problem with a change, one line each; empty when it may be applied. */
export function settingsChangeProblems(change: unknown, nodeNames: readonly string[]): string[] {
  if (typeof change !== 'object' || change === null || Array.isArray(change)) return ['expected an object such as {"max_jobs_per_batch": 10}'];
  const fields = change as Record<string, unknown>;
  if (Object.keys(fields).length === 0) return ['nothing to change: give at least one setting'];
  const problems = Object.keys(fields)
    .filter((key) => !KNOWN_KEYS.includes(key))
    .map((key) => `${key}: unknown setting (known: ${KNOWN_KEYS.join(', ')})`);
  for (const key of WHOLE_AT_LEAST_ONE) {
    const value = fields[key];
    if (value !== undefined && !(Number.isInteger(value) && (value as number) >= 1))
      problems.push(`${key}: must be a whole number ≥ 1 (got ${JSON.stringify(value)})`);
  }
  for (const key of SECONDS) {
    const value = fields[key];
    // The range also refuses NaN and ±Infinity; `typeof` refuses a string JS would compare as a number.
    if (value !== undefined && !(typeof value === 'number' && value >= 0 && value <= MAX_SECONDS)) {
      problems.push(`${key}: must be a number of seconds from 0 to ${MAX_SECONDS} (got ${JSON.stringify(value)})`);
    }
  }
  if (fields.node !== undefined) {
    if (!nodeNames.includes(fields.node as string)) problems.push(`node: ${JSON.stringify(fields.node)} is not a node of this sweep (${nodeNames.join(', ')})`);
    else if (fields.stagger_delay === undefined) problems.push('node: only stagger_delay can be set per node');
  }
  return problems;
}

/** The settings after a change that passed `settingsChangeProblems`. */
export function applySettingsChange(settings: LiveSettings, change: SettingsChange): LiveSettings {
  const stagger = { ...settings.stagger_delay };
  if (change.stagger_delay !== undefined) {
    for (const node of change.node ? [change.node] : Object.keys(stagger)) stagger[node] = change.stagger_delay;
  }
  return {
    max_jobs_per_batch: change.max_jobs_per_batch ?? settings.max_jobs_per_batch,
    max_jobs_per_node_per_batch: change.max_jobs_per_node_per_batch ?? settings.max_jobs_per_node_per_batch,
    inter_batch_cooldown_seconds: change.inter_batch_cooldown_seconds ?? settings.inter_batch_cooldown_seconds,
    stagger_delay: stagger,
  };
}

/** Every problem with an `exclude`/`readmit` target. */
export function nodeSelectorProblems(selector: unknown, nodes: readonly { name: string; gpuCount: number }[]): string[] {
  if (typeof selector !== 'object' || selector === null) return ['expected an object such as {"node": "10.0.0.2", "gpu": 3}'];
  const { node, gpu, ...rest } = selector as Record<string, unknown>;
  const problems = Object.keys(rest).map((key) => `${key}: unknown field (known: node, gpu)`);
  const target = nodes.find((candidate) => candidate.name === node);
  if (!target) return [...problems, `node: ${JSON.stringify(node)} is not a node of this sweep (${nodes.map((n) => n.name).join(', ')})`];
  if (gpu !== undefined && !(Number.isInteger(gpu) && (gpu as number) >= 0 && (gpu as number) < target.gpuCount)) {
    problems.push(`gpu: must be a GPU index of ${target.name}, 0 to ${target.gpuCount - 1} (got ${JSON.stringify(gpu)})`);
  }
  return problems;
}
