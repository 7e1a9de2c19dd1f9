import { describe, expect, it } from 'vitest';
import type { SweepJob } from '../../src/shared/jobs';
import { redirectOutputs } from '../../src/shared/output-redirect';
import { homeOutputPath, nodeOutputPath } from '../../src/rigs/output-paths';

const job = (args: string[], expected_output?: string): SweepJob => ({ kind: 'script', job_id: 'j', script: 's.py', args, expected_output, timeout: 10 });
const RUN = 'full_scoring_results/full_scoring_results_20260115_143005';

describe('run-scoped outputs (no --preserve-paths), as the seed made them', () => {
  it('moves expected_output into <output-dir>/<run_id>/ under its file name, and --output-file to the same path', () => {
    const moved = redirectOutputs(job(['x.npz', '--output-file', 'scorer_trial_results/trial_0007.json'], 'scorer_trial_results/trial_0007.json'), RUN);
    expect(moved).toMatchObject({ args: ['x.npz', '--output-file', `${RUN}/trial_0007.json`], expected_output: `${RUN}/trial_0007.json` });
    expect(redirectOutputs(job(['--output-file=out/a.json']), RUN)).toMatchObject({ args: [`--output-file=${RUN}/a.json`] });
  });

  it('replaces an absolute --output-file too (the step-3 generator writes absolute paths)', () => {
    const step3 = job(
      ['--seeds-file', '/home/m/s.json', '--output-file', '/home/m/dpa/full_scoring_results/chunk_0007.json'],
      'full_scoring_results/chunk_0007.json',
    );
    expect(redirectOutputs(step3, RUN)).toMatchObject({
      args: ['--seeds-file', '/home/m/s.json', '--output-file', `${RUN}/chunk_0007.json`],
      expected_output: `${RUN}/chunk_0007.json`,
    });
  });

  it('names the file after expected_output when the two differ, so the job writes where it is checked', () => {
    expect(redirectOutputs(job(['--output-file', 'a.json'], 'results/other.json'), RUN)).toMatchObject({
      args: ['--output-file', `${RUN}/other.json`],
      expected_output: `${RUN}/other.json`,
    });
    expect(redirectOutputs(job(['--n', '3'], 'results/only.json'), RUN)).toMatchObject({ args: ['--n', '3'], expected_output: `${RUN}/only.json` });
  });

  it('leaves a job without outputs, and trial_command jobs, alone', () => {
    const plain = job(['--n', '3']);
    expect(redirectOutputs(plain, RUN)).toBe(plain);
    const trial: SweepJob = { kind: 'trial', job_id: 't', trial: 1, command: 'x --output-file a.json', timeout: 1 };
    expect(redirectOutputs(trial, RUN)).toBe(trial);
  });
});

describe('bringing outputs home', () => {
  it('reads outputs relative to script_path, ~ meaning the login home', () => {
    expect(nodeOutputPath('~/prng', 'out/a.json')).toBe('prng/out/a.json');
    expect(nodeOutputPath('/srv/work', 'out/a.json')).toBe('/srv/work/out/a.json');
    expect(nodeOutputPath('/srv/work', '/abs/a.json')).toBe('/abs/a.json');
  });

  it('puts a redirected output directly in the run folder, keeps other job paths below it, and never escapes it', () => {
    expect(homeOutputPath('/res/run-1', 'results/a.json')).toBe('/res/run-1/results/a.json');
    expect(homeOutputPath('/res/run-1', 'scorer/run-1/a.json', 'scorer/run-1')).toBe('/res/run-1/a.json');
    expect(homeOutputPath('/res/run-1', '../../etc/x.json')).toBe('/res/run-1/etc/x.json');
    expect(homeOutputPath('/res/run-1', '/abs/a.json')).toBe('/res/run-1/abs/a.json');
  });
});
