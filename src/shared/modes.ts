/**
 * The batching modes a user may name in `job_batching.mode`: the one list config validates
 * against and the dispatcher core maps to its policies (src/shared/dispatch/policies). It imports
 * nothing, so config and the core both depend on it and never on each other. A new mode is its
 * policy file plus its name here. Pure code.
 */
export const MODES = ['barrier', 'rolling'] as const;

export type ModeName = (typeof MODES)[number];

/** True for a name in the list of modes. */
export function isModeName(name: string): name is ModeName {
  return (MODES as readonly string[]).includes(name);
}
