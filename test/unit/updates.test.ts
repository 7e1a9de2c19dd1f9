/**
 * Which operators' messages a sweep takes (docs/operating.md, steering): none while it is still
 * planning — there are no numbers in force yet — and afterwards a `set` only of known settings
 * and nodes, an exclude or readmit only of a node (and GPU) the sweep has. The expected answers
 * come from the nodes each case gives, not from the code.
 */
import { describe, expect, it } from 'vitest';
import { initialState } from '../../src/shared/dispatch/init';
import type { SweepState } from '../../src/shared/dispatch/state';
import { updateProblems, type UpdateEvent } from '../../src/shared/dispatch/updates';
import type { SweepNode } from '../../src/shared/nodes';
import { node } from './core/sweep-fixtures';

/** A sweep past pre-flight, with these nodes and numbers in force. */
function serving(nodes: SweepNode[]): SweepState {
  return {
    ...initialState(0),
    allNodes: nodes,
    settings: {
      max_jobs_per_batch: 10,
      max_jobs_per_node_per_batch: 4,
      inter_batch_cooldown_seconds: 5,
      stagger_delay: Object.fromEntries(nodes.map((n) => [n.name, 0])),
    },
  };
}

const set = (change: Extract<UpdateEvent, { type: 'settingsChanged' }>['change']): UpdateEvent => ({ type: 'settingsChanged', change });
const exclude = (selector: { node: string; gpu?: number }): UpdateEvent => ({ type: 'exclude', selector });
const readmit = (selector: { node: string; gpu?: number }): UpdateEvent => ({ type: 'readmit', selector });

describe('updateProblems', () => {
  it('refuses every message while the sweep is still planning, saying so', () => {
    const planning = initialState(0);
    for (const update of [set({ max_jobs_per_batch: 5 }), exclude({ node: 'rig1' }), readmit({ node: 'rig1' })]) {
      const problems = updateProblems(planning, update);
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/planning/);
    }
  });

  it('takes new numbers for known settings and nodes, and names what it refuses', () => {
    const state = serving([node('localhost', 2), node('rig1', 8)]);
    expect(updateProblems(state, set({ max_jobs_per_batch: 5 }))).toEqual([]);
    expect(updateProblems(state, set({ stagger_delay: 3, node: 'rig1' }))).toEqual([]);
    const unknownNode = updateProblems(state, set({ stagger_delay: 3, node: 'rig9' }));
    expect(unknownNode.join(' ')).toMatch(/rig9/);
    // An operator's message is data from outside: a key no setting has must be named back.
    const unknownKey = updateProblems(state, set({ warp_speed: 9 } as never));
    expect(unknownKey.join(' ')).toMatch(/warp_speed/);
  });

  it('excludes and readmits only nodes and GPUs the sweep has', () => {
    const state = serving([node('localhost', 2), node('rig1', 8)]);
    for (const steer of [exclude, readmit]) {
      expect(updateProblems(state, steer({ node: 'rig1' }))).toEqual([]);
      expect(updateProblems(state, steer({ node: 'rig1', gpu: 7 }))).toEqual([]);
      expect(updateProblems(state, steer({ node: 'rig1', gpu: 8 })).join(' ')).toMatch(/gpu/);
      expect(updateProblems(state, steer({ node: 'localhost', gpu: 2 })).join(' ')).toMatch(/gpu/);
      expect(updateProblems(state, steer({ node: 'rig9' })).join(' ')).toMatch(/rig9/);
    }
  });
});
