import { describe, expect, it } from 'vitest';
import { parseTemplate, renderTemplate, trialJobId } from '../../src/shared/templates';

describe('trial_command templates', () => {
  it('fills every placeholder and keeps doubled braces literal', () => {
    const text = renderTemplate('python3 t.py {trial} out/trial_{trial_id}.json --gpu {gpu} --node {node} --run {run_id} \'{{"a": 1}}\'', {
      trial: 7,
      trial_id: '0007',
      gpu: 3,
      node: '10.0.0.2',
      run_id: 'sweep-1',
    });
    expect(text).toBe('python3 t.py 7 out/trial_0007.json --gpu 3 --node 10.0.0.2 --run sweep-1 \'{"a": 1}\'');
  });

  it('rejects unknown placeholders, naming them and the allowed ones', () => {
    const parsed = parseTemplate('run {trail}');
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.error).toContain('unknown placeholder {trail}');
    expect(!parsed.ok && parsed.error).toContain('{trial_id}');
  });

  it('rejects a lone closing brace and an unclosed placeholder', () => {
    expect(parseTemplate('a } b').ok).toBe(false);
    expect(parseTemplate('a {trial').ok).toBe(false);
  });

  it('names trials as the seed did', () => {
    expect(trialJobId(7)).toBe('trial_0007');
    expect(trialJobId(12345)).toBe('trial_12345');
  });
});
