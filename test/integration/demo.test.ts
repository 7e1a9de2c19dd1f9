/**
 * The README's "run it" command on a machine with no Temporal server: `rigsweep demo` starts a dev
 * server with a database file, hosts a worker, runs the demo sweep and says where to look.
 */
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { portAnswers } from '../../src/cli/dev-server';
import { runCli } from '../harness/cli';

const home = mkdtempSync(join(tmpdir(), 'rigsweep-demo-'));
const port = 20000 + (process.pid % 20000);
const env = { temporalAddress: `127.0.0.1:${port}`, taskQueue: 'rigsweep', home };

afterAll(async () => {
  await runCli(['server', 'stop'], env, { env: { RIGSWEEP_HOME: home } });
});

describe('rigsweep demo', () => {
  it('starts a dev server when none answers and runs a batched demo sweep on localhost', async () => {
    expect(await portAnswers('127.0.0.1', port)).toBe(false);
    const run = await runCli(['demo', '--trials', '10'], env, { env: { RIGSWEEP_HOME: home, RIGSWEEP_UI_PORT: String(port + 1) } });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stderr).toContain(`no Temporal server at 127.0.0.1:${port}: starting a dev server`);
    expect(run.stdout).toMatch(/^\[BATCH 2\/2\] 2 jobs$/m);
    expect(run.results).toMatchObject({ status: 'complete', total_jobs: 10, successful: 10, batches: 2 });
    expect(run.stderr).toMatch(
      new RegExp(`See this run in Temporal Web: http://localhost:${port + 1}/namespaces/default/workflows/rigsweep-demo-\\d{8}T\\d{6}`),
    );
    expect(existsSync(join(home, 'temporal.db'))).toBe(true);
    expect(readdirSync(join(home, 'demo', 'work', 'results'))).toHaveLength(10);
  });
});
