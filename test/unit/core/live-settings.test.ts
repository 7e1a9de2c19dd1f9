/**
 * The edges of what `set`, `exclude` and `readmit` accept (docs/operating.md, steering): an
 * operator's message is data from any Temporal client, so anything that is not the documented
 * shape is refused with a message, and the boundaries documented — seconds from 0 to a day, GPU
 * indices from 0 to the node's count less one — are accepted exactly up to the edge.
 * test/unit/live-settings.test.ts has the everyday cases.
 */
import { describe, expect, it } from 'vitest';
import { nodeSelectorProblems, settingsChangeProblems } from '../../../src/shared/live-settings';

const NODES = ['localhost', '10.0.0.2'];
const A_DAY = 86_400;

describe('settingsChangeProblems at its edges', () => {
  it.each([5, 'max_jobs_per_batch=5', true, null, [{ max_jobs_per_batch: 5 }]])('refuses %j as not an object', (change) => {
    expect(settingsChangeProblems(change, NODES)).toEqual([expect.stringContaining('expected an object')]);
  });

  it('names every known setting when refusing an unknown one', () => {
    const [problem] = settingsChangeProblems({ max_batch: 3 }, NODES);
    expect(problem).toContain('max_batch: unknown setting');
    for (const known of ['max_jobs_per_batch', 'max_jobs_per_node_per_batch', 'inter_batch_cooldown_seconds', 'stagger_delay', 'node'])
      expect(problem).toContain(known);
    expect(problem).toContain('max_jobs_per_batch, max_jobs_per_node_per_batch');
  });

  it.each(['stagger_delay', 'inter_batch_cooldown_seconds'])('takes %s from 0 to a day, seconds as numbers only', (key) => {
    for (const good of [0, 0.25, A_DAY]) expect(settingsChangeProblems({ [key]: good }, NODES)).toEqual([]);
    for (const bad of [-0.5, A_DAY + 0.5, Number.NaN, Number.POSITIVE_INFINITY, '3', true, [2]])
      expect(settingsChangeProblems({ [key]: bad }, NODES)).toEqual([expect.stringMatching(new RegExp(`^${key}: must be a number of seconds`))]);
  });

  it('says there is nothing to change only when nothing was given', () => {
    expect(settingsChangeProblems({}, NODES)).toEqual(['nothing to change: give at least one setting']);
    // A node alone is a per-node change without its stagger: that is what is wrong with it.
    expect(settingsChangeProblems({ node: 'localhost' }, NODES)).toEqual(['node: only stagger_delay can be set per node']);
    expect(settingsChangeProblems({ node: 'rig9' }, NODES)).toEqual([expect.stringContaining('"rig9" is not a node of this sweep')]);
    expect(settingsChangeProblems({ max_batch: 1 }, NODES)).toHaveLength(1);
  });
});

describe('nodeSelectorProblems at its edges', () => {
  const nodes = [
    { name: 'localhost', gpuCount: 2 },
    { name: '10.0.0.2', gpuCount: 8 },
  ];

  it.each([5, 'localhost', undefined, null])('refuses %j as not an object', (selector) => {
    expect(nodeSelectorProblems(selector, nodes)).toEqual([expect.stringContaining('expected an object')]);
  });

  it('takes GPU indices 0 to the count less one, whole numbers only', () => {
    for (const gpu of [0, 1]) expect(nodeSelectorProblems({ node: 'localhost', gpu }, nodes)).toEqual([]);
    for (const gpu of [-1, 2, 0.5, 1.5, '1', null])
      expect(nodeSelectorProblems({ node: 'localhost', gpu }, nodes)).toEqual([`gpu: must be a GPU index of localhost, 0 to 1 (got ${JSON.stringify(gpu)})`]);
  });
});
