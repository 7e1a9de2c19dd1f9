/**
 * No input crashes the loaders: whatever a config or jobs file holds, loading either succeeds or
 * fails with an InputError that names the file — never a TypeError, never a zod error escaping.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/inputs/input-error';
import { loadConfig } from '../../src/inputs/load-config';
import { loadJobsFile } from '../../src/inputs/load-jobs';
import { planSweep } from '../../src/inputs/plan-sweep';

const dir = mkdtempSync(join(tmpdir(), 'rigsweep-fuzz-'));
let n = 0;
function file(text: string): string {
  const path = join(dir, `f${n++}.json`);
  writeFileSync(path, text);
  return path;
}

async function loadsOrNamesTheFile(load: (path: string) => Promise<unknown>, text: string): Promise<void> {
  const path = file(text);
  const outcome = await load(path).then(
    () => 'ok',
    (error: unknown) => error,
  );
  if (outcome === 'ok') return;
  expect(outcome).toBeInstanceOf(InputError);
  expect((outcome as InputError).message.startsWith(`${path}: `)).toBe(true);
}

const validNode = { hostname: 'rig', username: 'u', gpu_count: 8, script_path: '/w', python_env: '/rocm_env/bin/python' };
/** A valid config with one field replaced by anything at all. */
const mutatedConfig = fc
  .record({
    where: fc.constantFrom('nodes', 'node', 'job_batching', 'trial_command', 'preflight', 'top'),
    key: fc.constantFrom(
      'hostname',
      'gpu_count',
      'script_path',
      'python_env',
      'stagger_delay',
      'port',
      'max_jobs_per_batch',
      'enabled',
      'mode',
      'warmup_command',
      'max_concurrent_script_jobs',
    ),
    value: fc.jsonValue(),
  })
  .map(({ where, key, value }) => {
    const node: Record<string, unknown> = { ...validNode };
    const config: { [key: string]: unknown; job_batching: Record<string, unknown>; preflight: Record<string, unknown> } = {
      nodes: [node],
      job_batching: {},
      preflight: {},
    };
    if (where === 'nodes') config.nodes = value;
    else if (where === 'node') node[key] = value;
    else if (where === 'top') config[key] = value;
    else if (where === 'trial_command') config.trial_command = value;
    else config[where][key] = value;
    return JSON.stringify(config);
  });

describe('loaders under arbitrary input', () => {
  it('config: any JSON, any mutation of a valid file, any bytes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.json(), mutatedConfig, fc.string()), (text) => loadsOrNamesTheFile(loadConfig, text)),
      { numRuns: 300 },
    );
  });

  it('jobs: any JSON, any job-shaped array, any bytes', async () => {
    const jobish = fc.array(
      fc.record(
        { job_id: fc.jsonValue(), script: fc.jsonValue(), args: fc.jsonValue(), timeout: fc.jsonValue(), expected_output: fc.jsonValue() },
        { requiredKeys: [] },
      ),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.json(),
          jobish.map((jobs) => JSON.stringify(jobs)),
          fc.string(),
        ),
        (text) => loadsOrNamesTheFile(loadJobsFile, text),
      ),
      { numRuns: 300 },
    );
  });

  it('workflow input: any JSON object from any client', async () => {
    const config = file(JSON.stringify({ nodes: [validNode], trial_command: 'x {trial}' }));
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (input) => {
        const outcome = await planSweep(input, { sweepId: 'r', startedAt: new Date() }, { configFile: config, cwd: dir }).then(
          () => 'ok',
          (error: unknown) => error,
        );
        if (outcome !== 'ok') expect(outcome).toBeInstanceOf(InputError);
      }),
      { numRuns: 300 },
    );
  });
});
