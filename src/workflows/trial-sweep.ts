/**
 * `trialSweep`: the seed's proposal as a durable workflow. Plan on the worker host and check the
 * nodes once (pre-flight); then for each batch — a pause if an operator asked for one, the rigs'
 * reset and a cooldown (not before the first), the nodes' probes, one lane per GPU with staggered
 * starts, the batch's records — and finally the Results JSON. The rules are the dispatcher core's
 * (src/shared/dispatch); this workflow only drives it.
 */
import type { SweepState } from '../shared/dispatch/state';
import type { ResultsJson } from '../shared/results';
import type { SweepInput } from '../shared/sweep-input';
import { continueAsNewWith, SweepDriver } from './sweep-driver';

/**
 * Runs one sweep to its Results JSON; its workflow id is the sweep's identity. A long sweep
 * continues as new at a quiet point between batches, handing on its state, so no run's history
 * grows with the sweep.
 */
export async function trialSweep(input: SweepInput, state?: SweepState): Promise<ResultsJson> {
  return new SweepDriver(input, state, continueAsNewWith(trialSweep)).run();
}
