import { describe, expect, it } from 'vitest';
import { benchCsv, benchJson, benchRow, type BenchRow, formatBenchTable, recommend, recommendationLine } from '../../src/cli/bench-table';

/** A sweep's summary as its Results JSON gives it. */
function sweep(successful: number, failed: number, runtimeSeconds: number, runId = 'bench-x') {
  return {
    run_id: runId,
    workflow_id: `sweep-${runId}`,
    results_file: `/out/${runId}/results.jsonl`,
    total_jobs: successful + failed,
    successful,
    failed,
    runtime_seconds: runtimeSeconds,
  };
}

function row(value: string, successful: number, failed: number, runtimeSeconds: number): BenchRow {
  return benchRow(
    value,
    sweep(successful, failed, runtimeSeconds, `bench-${value}`),
    Array.from({ length: successful }, () => ({ success: true, runtime: 2.5 })),
  );
}

describe("a value's row", () => {
  it('takes runtime and counts from the sweep and the mean trial time from the successful records only', () => {
    const records = [
      { success: true, runtime: 2 },
      { success: true, runtime: 4 },
      { success: false, runtime: 100 },
    ];
    expect(benchRow('350', sweep(2, 1, 30), records)).toEqual({
      value: '350',
      trials: 3,
      total_runtime_s: 30,
      avg_trial_time_s: 3,
      throughput_trials_per_min: 4,
      success_rate: 2 / 3,
      successful: 2,
      failed: 1,
      run_id: 'bench-x',
      workflow_id: 'sweep-bench-x',
      results_file: '/out/bench-x/results.jsonl',
    });
  });

  it('has no mean trial time and no throughput when nothing succeeded', () => {
    expect(benchRow('750', sweep(0, 4, 10), [{ success: false, runtime: 1 }])).toMatchObject({
      avg_trial_time_s: null,
      throughput_trials_per_min: 0,
      success_rate: 0,
    });
    expect(benchRow('750', sweep(0, 0, 0), [])).toMatchObject({ throughput_trials_per_min: 0, success_rate: 0 });
  });
});

describe('the table', () => {
  const rows = [row('350', 20, 0, 80), row('1250', 18, 2, 60)];

  it("prints the user's columns, aligned to the right, with the parameter first", () => {
    expect(formatBenchTable('sample_size', rows)).toEqual([
      'sample_size  trials  total_runtime_s  avg_trial_time_s  throughput_trials_per_min  success_rate  successful  failed',
      '        350      20            80.00              2.50                      15.00         1.000          20       0',
      '       1250      20            60.00              2.50                      18.00         0.900          18       2',
    ]);
  });

  it('shows a dash where no trial succeeded, and writes the same numbers as CSV', () => {
    expect(formatBenchTable('n', [row('9', 0, 3, 5)])[1]).toMatch(/ 5\.00 +- +0\.00 +0\.000 +0 +3$/);
    expect(benchCsv('sample_size', [...rows, row('x"y', 0, 1, 1)])).toBe(
      'sample_size,trials,total_runtime_s,avg_trial_time_s,throughput_trials_per_min,success_rate,successful,failed\n' +
        '350,20,80.00,2.50,15.00,1.000,20,0\n' +
        '1250,20,60.00,2.50,18.00,0.900,18,2\n' +
        '"x""y",1,1.00,,0.00,0.000,0,1\n',
    );
  });

  it("keeps the rows in JSON under the parameter's name, numbers as numbers, with the sweep and arguments of each", () => {
    const json = benchJson('sample_size', rows, {
      values: ['350', '1250', 'big'],
      extraArgs: { '350': ['--sample-size', '350'], '1250': ['--sample-size', '1250'] },
      cooldownSeconds: 30,
      complete: false,
    });
    expect(json).toMatchObject({ param: 'sample_size', values: [350, 1250, 'big'], complete: false, cooldown_seconds: 30, min_success_rate: 0.95 });
    expect(json.rows[0]).toEqual({
      sample_size: 350,
      trials: 20,
      total_runtime_s: 80,
      avg_trial_time_s: 2.5,
      throughput_trials_per_min: 15,
      success_rate: 1,
      successful: 20,
      failed: 0,
      run_id: 'bench-350',
      workflow_id: 'sweep-bench-350',
      results_file: '/out/bench-350/results.jsonl',
      extra_args: ['--sample-size', '350'],
    });
    expect(json.recommended).toEqual({ sample_size: 350, throughput_trials_per_min: 15, success_rate: 1 });
  });
});

describe('the recommendation', () => {
  it('is the highest throughput among values that succeeded at least 95% of the time', () => {
    // 550 is fastest but failed 10%; 450 is the fastest of the rest.
    const rows = [row('350', 20, 0, 80), row('450', 19, 1, 70), row('550', 18, 2, 40), row('650', 20, 0, 100)];
    expect(recommend(rows)?.value).toBe('450');
    expect(recommendationLine('sample_size', rows)).toBe('recommended: sample_size=450 (16.29 trials/min, success 0.950)');
  });

  it('breaks a tie in throughput as shown by the success rate, then by the order benchmarked', () => {
    // 19 in 57 s and 20 in 60 s: both 20.00 trials/min; the one with no failure wins.
    expect(recommend([row('350', 19, 1, 57), row('450', 20, 0, 60)])?.value).toBe('450');
    // 20.001 and 19.999 trials/min show as 20.00: a full tie keeps the first value.
    expect(recommend([row('350', 20, 0, 59.997), row('450', 20, 0, 60.003)])?.value).toBe('350');
    expect(recommend([row('450', 20, 0, 60.003), row('350', 20, 0, 59.997)])?.value).toBe('450');
  });

  it('is none, said plainly, when no value reached 95%', () => {
    const rows = [row('350', 18, 2, 10), row('450', 0, 20, 10)];
    expect(recommend(rows)).toBeUndefined();
    expect(recommendationLine('sample_size', rows)).toBe('recommended: none (no sample_size value reached a success rate of 0.95)');
    expect(recommendationLine('sample_size', [])).toBe('recommended: none (no value was benchmarked)');
    expect(benchJson('sample_size', rows, { values: ['350', '450'], extraArgs: {}, cooldownSeconds: 0, complete: true }).recommended).toBeNull();
  });
});
