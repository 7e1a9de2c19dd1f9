/**
 * The batching modes' policies, by the names in src/shared/modes.ts: the record is typed by that
 * list, so a mode without a policy does not compile. A new mode is a policy file, a line here and
 * its name in the list. Pure code.
 */
import { isModeName, MODES, type ModeName } from '../../modes';
import type { SweepPlan } from '../../sweep-plan';
import { barrierPolicy } from './barrier';
import type { BatchPolicy } from './policy';
import { rollingPolicy } from './rolling';
import { unbatchedPolicy } from './unbatched';

export type { BatchPolicy } from './policy';
export { unbatchedPolicy };

const POLICIES: Record<ModeName, BatchPolicy> = {
  barrier: barrierPolicy,
  rolling: rollingPolicy,
};

/** The policy of a mode by its name; a name not in the list is an error (config refuses it first). */
export function policyNamed(mode: string): BatchPolicy {
  if (!isModeName(mode)) throw new Error(`unknown batching mode "${mode}" (known: ${MODES.join(', ')})`);
  return POLICIES[mode];
}

/**
 * The policy a plan runs under: a sweep planned without batches runs unbatched, whatever its mode;
 * otherwise its mode's — or `override`, a policy the simulator hands in to try a mode not in the list.
 */
export function policyOf(plan: Pick<SweepPlan, 'perNodeCap' | 'batching'>, override?: BatchPolicy): BatchPolicy {
  if (plan.perNodeCap === null) return unbatchedPolicy;
  return override ?? policyNamed(plan.batching.mode);
}
