/** What an operator may change while a sweep runs, and what is refused with a message. */
import { describe, expect, it } from 'vitest';
import { applySettingsChange, nodeSelectorProblems, settingsChangeProblems } from '../../src/shared/live-settings';

const NODES = ['localhost', '10.0.0.2'];
const SETTINGS = { max_jobs_per_batch: 20, max_jobs_per_node_per_batch: 6, inter_batch_cooldown_seconds: 5, stagger_delay: { localhost: 3, '10.0.0.2': 2 } };

describe('settingsChangeProblems', () => {
  it('accepts good numbers, alone or together', () => {
    expect(settingsChangeProblems({ max_jobs_per_batch: 10 }, NODES)).toEqual([]);
    expect(settingsChangeProblems({ max_jobs_per_node_per_batch: 1, inter_batch_cooldown_seconds: 0, stagger_delay: 0.5, node: '10.0.0.2' }, NODES)).toEqual(
      [],
    );
  });

  it.each([
    [{ max_jobs_per_batch: 0 }, 'max_jobs_per_batch: must be a whole number ≥ 1 (got 0)'],
    [{ max_jobs_per_batch: 2.5 }, 'max_jobs_per_batch: must be a whole number ≥ 1 (got 2.5)'],
    [{ max_jobs_per_node_per_batch: '3' }, 'max_jobs_per_node_per_batch: must be a whole number ≥ 1 (got "3")'],
    [{ inter_batch_cooldown_seconds: -1 }, 'inter_batch_cooldown_seconds: must be a number of seconds from 0 to 86400 (got -1)'],
    [{ stagger_delay: 3000000 }, 'stagger_delay: must be a number of seconds from 0 to 86400 (got 3000000)'],
    [{ stagger_delay: null }, 'stagger_delay: must be a number of seconds from 0 to 86400 (got null)'],
    [{ max_batch: 3 }, 'max_batch: unknown setting'],
    [{ stagger_delay: 1, node: 'rig9' }, 'node: "rig9" is not a node of this sweep (localhost, 10.0.0.2)'],
    [{ max_jobs_per_batch: 4, node: 'localhost' }, 'node: only stagger_delay can be set per node'],
    [{}, 'nothing to change'],
    [[1], 'expected an object'],
  ])('refuses %j', (change, message) => {
    expect(settingsChangeProblems(change, NODES).join('; ')).toContain(message);
  });
});

describe('applySettingsChange', () => {
  it('changes only what was given; a stagger for every node or for one', () => {
    expect(applySettingsChange(SETTINGS, { max_jobs_per_batch: 8 })).toEqual({ ...SETTINGS, max_jobs_per_batch: 8 });
    expect(applySettingsChange(SETTINGS, { stagger_delay: 1 }).stagger_delay).toEqual({ localhost: 1, '10.0.0.2': 1 });
    expect(applySettingsChange(SETTINGS, { stagger_delay: 0, node: '10.0.0.2' }).stagger_delay).toEqual({ localhost: 3, '10.0.0.2': 0 });
    expect(SETTINGS.stagger_delay).toEqual({ localhost: 3, '10.0.0.2': 2 }); // never mutated
  });
});

describe('nodeSelectorProblems', () => {
  const nodes = [
    { name: 'localhost', gpuCount: 2 },
    { name: '10.0.0.2', gpuCount: 8 },
  ];
  it('accepts a node or one of its GPUs', () => {
    expect(nodeSelectorProblems({ node: '10.0.0.2' }, nodes)).toEqual([]);
    expect(nodeSelectorProblems({ node: '10.0.0.2', gpu: 7 }, nodes)).toEqual([]);
  });
  it('names what is wrong', () => {
    expect(nodeSelectorProblems({ node: 'rig9' }, nodes)).toEqual(['node: "rig9" is not a node of this sweep (localhost, 10.0.0.2)']);
    expect(nodeSelectorProblems({ node: 'localhost', gpu: 2 }, nodes)).toEqual(['gpu: must be a GPU index of localhost, 0 to 1 (got 2)']);
    expect(nodeSelectorProblems({ node: 'localhost', gpus: [1] }, nodes)).toEqual(['gpus: unknown field (known: node, gpu)']);
    expect(nodeSelectorProblems(null, nodes)[0]).toContain('expected an object');
  });
});
