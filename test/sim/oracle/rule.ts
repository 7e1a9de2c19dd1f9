/**
 * How the oracle says a rule was broken. The rule's name comes first in the message: the
 * scenario runner and scripts/plant-bugs.mjs read it back to say which rule caught a bug.
 */
export class RuleBroken extends Error {}

export function rule(holds: boolean, name: string, detail: () => string): void {
  if (!holds) throw new RuleBroken(`${name}: ${detail()}`);
}
