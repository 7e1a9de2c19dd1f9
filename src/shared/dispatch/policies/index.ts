/**
 * The batching modes, by name: `job_batching.mode` names one. A new mode is a policy file and one
 * line here. Pure code.
 */
import type { SweepPlan } from '../../sweep-plan';
import { barrierPolicy } from './barrier';
import type { BatchPolicy } from './policy';
import { rollingPolicy } from './rolling';
import { unbatchedPolicy } from './unbatched';

export type { BatchPolicy } from './policy';

const MODES = new Map<string, BatchPolicy>([
  ['barrier', barrierPolicy],
  ['rolling', rollingPolicy],
]);

/** Adds a mode (a test fixture does); its name becomes valid in `job_batching.mode`. */
export function registerMode(policy: BatchPolicy): void {
  MODES.set(policy.mode, policy);
}

export function isMode(name: string): boolean {
  return MODES.has(name);
}

export function modeNames(): string[] {
  return [...MODES.keys()];
}

/** The policy of a mode by its name (barrier for a name not registered). */
export function policyNamed(mode: string): BatchPolicy {
  return MODES.get(mode) ?? barrierPolicy;
}

/** The policy a plan runs under: a sweep planned without batches runs unbatched, whatever its mode. */
export function policyOf(plan: Pick<SweepPlan, 'perNodeCap' | 'batching'>): BatchPolicy {
  if (plan.perNodeCap === null) return unbatchedPolicy;
  return policyNamed(plan.batching.mode);
}
