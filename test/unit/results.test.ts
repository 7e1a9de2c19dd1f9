import { describe, expect, it } from 'vitest';
import { buildResultsJson, type JobResult, MAX_JOBS_IN_RESULT } from '../../src/shared/results';

const job = (i: number, success: boolean): JobResult => ({
  job_id: `j${i}`,
  success,
  node: i % 2 ? 'rig' : 'localhost',
  gpu_id: 0,
  batch: 1,
  runtime: 1,
  exit_code: success ? 0 : 1,
  signal: null,
  failure_mode: success ? null : 'EXIT_CODE',
  error: null,
  output_file: null,
  local_output: null,
  started_at: '',
  ended_at: '',
  stderr_tail: '',
  attempt: 1,
  attempts: [],
});
const context = (totalJobs: number) => ({
  runId: 'r',
  totalJobs,
  runtimeSeconds: 1.23456,
  timestamp: 't',
  outputDir: '/o',
  resultsFile: '/o/results.jsonl',
  preservePaths: false,
  batches: 1,
  nodes: [
    { name: 'localhost', gpuCount: 2 },
    { name: 'rig', gpuCount: 8, gpuType: 'RX 6600' },
  ],
  warnings: [],
  preflight: [],
});

describe('the Results JSON', () => {
  it('counts per node and overall, in the seed field names', () => {
    const results = buildResultsJson(context(4), [job(0, true), job(1, true), job(2, false), job(3, true)]);
    expect(results).toMatchObject({ status: 'partial', total_jobs: 4, successful: 3, failed: 1, runtime_seconds: 1.235, jobs_omitted: 0 });
    expect(results.nodes).toEqual({
      localhost: { jobs: 2, successful: 1, failed: 1, gpu_count: 2, gpu_type: null },
      rig: { jobs: 2, successful: 2, failed: 0, gpu_count: 8, gpu_type: 'RX 6600' },
    });
  });

  it('counts a job that never reported as failed', () => {
    expect(buildResultsJson(context(3), [job(0, true)])).toMatchObject({ status: 'partial', successful: 1, failed: 2 });
  });

  it('cuts the jobs list of a large sweep, keeping every failure first', () => {
    const jobs = Array.from({ length: 2000 }, (_, i) => job(i, i % 100 !== 7));
    const results = buildResultsJson(context(2000), jobs);
    expect(results.jobs).toHaveLength(MAX_JOBS_IN_RESULT);
    expect(results.jobs_omitted).toBe(2000 - MAX_JOBS_IN_RESULT);
    expect(results.jobs.slice(0, 20).every((j) => !j.success)).toBe(true);
    expect(results.failed).toBe(20);
    expect(JSON.stringify(results).length).toBeLessThan(512 * 1024);
  });

  it('cuts by size too: 500 failures with full stderr tails and diagnoses stay under the payload warning', () => {
    const heavy = Array.from({ length: 600 }, (_, i) => ({ ...job(i, false), stderr_tail: 'e'.repeat(2048), diagnosis: 'd'.repeat(2048) }));
    const results = buildResultsJson(context(600), heavy);
    expect(results.jobs.length).toBeGreaterThan(50);
    expect(results.jobs.length + results.jobs_omitted).toBe(600);
    expect(JSON.stringify(results).length).toBeLessThan(512 * 1024);
    expect(results.failed).toBe(600); // the counts never depend on the cut
  });
});
