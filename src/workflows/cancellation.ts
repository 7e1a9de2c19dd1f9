/**
 * How workflow code handles a failure without losing a cancel. A cancelled sweep rejects every
 * activity, timer and condition it awaits with a cancellation; code that turns failures into data
 * (an unreachable node, a failed reset) must let that one through, or the sweep never ends as
 * cancelled. And work running side by side must all have ended before a cancel moves on, or the
 * sweep ends while something it started still runs on a node. Lint (eslint.config.mjs) sends
 * every `.catch` in workflow code through `unlessCancelled`.
 */
import { isCancellation } from '@temporalio/workflow';

/** A `.catch` handler for everything but a cancellation, which it rethrows. */
export function unlessCancelled<T>(onFailure: (error: Error) => T): (error: unknown) => T {
  return (error: unknown) => {
    if (isCancellation(error)) throw error;
    return onFailure(error instanceof Error ? error : new Error(String(error)));
  };
}

/**
 * Waits until every one of `work` has settled, then returns their values or throws the first
 * failure — a cancellation first, so a cancelled sweep ends as cancelled. Unlike `Promise.all`, it
 * never moves on while some of the work (an activity on a node) still runs.
 */
export async function allSettledOrThrow<T>(work: readonly Promise<T>[]): Promise<T[]> {
  const outcomes = await Promise.allSettled(work);
  throwFirstFailure(outcomes);
  return outcomes.map((outcome) => (outcome as PromiseFulfilledResult<T>).value);
}

/** Throws the first rejection among `outcomes`, a cancellation before any other. */
export function throwFirstFailure(outcomes: readonly PromiseSettledResult<unknown>[]): void {
  const failures = outcomes.filter((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected').map((outcome) => outcome.reason as unknown);
  if (failures.length) throw failures.find(isCancellation) ?? failures[0];
}

/**
 * Work that runs beside the main flow and is awaited later (with `allSettledOrThrow`): its
 * rejection is held from the start, so a cancel that ends it before anyone awaits it is not an
 * unhandled rejection, which would fail the workflow task and leave the sweep running.
 */
export function heldForLater<T>(work: Promise<T>): Promise<T> {
  work.catch(() => undefined); // eslint-disable-line no-restricted-syntax -- held, and rethrown to whoever awaits `work`
  return work;
}
