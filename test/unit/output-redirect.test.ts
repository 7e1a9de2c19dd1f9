import { describe, expect, it } from 'vitest';
import type { SweepJob } from '../../src/shared/jobs';
import { redirectOutputs } from '../../src/shared/output-redirect';
import { homeOutputPath, nodeOutputPath } from '../../src/rigs/output-paths';

const job = (args: string[], expected_output?: string): SweepJob => ({ kind: 'script', job_id: 'j', script: 's.py', args, expected_output, timeout: 10 });

describe('run-scoped outputs (no --preserve-paths)', () => {
  it('redirects --output-file and the matching expected_output into <output-dir>/<run_id>/', () => {
    const moved = redirectOutputs(job(['x.npz', '--output-file', 'scorer_trial_results/trial_0007.json'], 'scorer_trial_results/trial_0007.json'), 'scorer_trial_results/run-1');
    expect(moved).toMatchObject({ args: ['x.npz', '--output-file', 'scorer_trial_results/run-1/trial_0007.json'], expected_output: 'scorer_trial_results/run-1/trial_0007.json' });
    expect(redirectOutputs(job(['--output-file=out/a.json']), 'r/1')).toMatchObject({ args: ['--output-file=r/1/a.json'] });
  });

  it('leaves absolute paths, other outputs and trial_command jobs alone', () => {
    expect(redirectOutputs(job(['--output-file', '/data/a.json'], '/data/a.json'), 'r/1')).toMatchObject({ args: ['--output-file', '/data/a.json'], expected_output: '/data/a.json' });
    expect(redirectOutputs(job(['--output-file', 'a.json'], 'other.json'), 'r/1')).toMatchObject({ expected_output: 'other.json' });
    const trial: SweepJob = { kind: 'trial', job_id: 't', trial: 1, command: 'x --output-file a.json', timeout: 1 };
    expect(redirectOutputs(trial, 'r/1')).toBe(trial);
  });
});

describe('bringing outputs home', () => {
  it('reads outputs relative to script_path, ~ meaning the login home', () => {
    expect(nodeOutputPath('~/prng', 'out/a.json')).toBe('prng/out/a.json');
    expect(nodeOutputPath('/srv/work', 'out/a.json')).toBe('/srv/work/out/a.json');
    expect(nodeOutputPath('/srv/work', '/abs/a.json')).toBe('/abs/a.json');
  });

  it('keeps the job path below the run folder, without nesting the run folder twice or escaping it', () => {
    expect(homeOutputPath('/res/run-1', 'results/a.json')).toBe('/res/run-1/results/a.json');
    expect(homeOutputPath('/res/run-1', 'scorer/run-1/a.json', 'scorer/run-1')).toBe('/res/run-1/a.json');
    expect(homeOutputPath('/res/run-1', '../../etc/x.json')).toBe('/res/run-1/etc/x.json');
    expect(homeOutputPath('/res/run-1', '/abs/a.json')).toBe('/res/run-1/abs/a.json');
  });
});
