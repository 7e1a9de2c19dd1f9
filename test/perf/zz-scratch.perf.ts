import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, inject, it } from 'vitest';
import { startRigs, type TestRigs } from '../harness/rigs';
import { clusterNodes, collectRuns, runCli, temporalCli, writeJobs, writeUserConfig, type CliEnv } from '../harness/sweep-fixture';
import { quantile } from './figures';

let rigs: TestRigs; let env: CliEnv; let work: string; let config: string; let nodes: any;
function jobs(prefix: string, count: number, sleep: string) {
  return Array.from({ length: count }, (_, i) => ({ job_id: `${prefix}${i}`, script: 'fake_trial.py', args: ['--job', `${prefix}${i}`, '--sleep', sleep, '--output', `out/${prefix}${i}.json`], expected_output: `out/${prefix}${i}.json` }));
}
beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'rigsweep-scratch-')); chmodSync(work, 0o755);
  rigs = await startRigs({ count: 3, stateDir: join(work, 'rigs') });
  env = { temporalAddress: inject('temporalAddress'), taskQueue: `scratch-${process.pid}`, home: rigs.home };
  const cluster = clusterNodes(rigs, { localGpus: 2, rigGpus: 4, stagger: 0 }); nodes = cluster.nodes;
  config = writeUserConfig(work, 'distributed_config.json', { nodes: cluster.configNodes, job_batching: { enabled: false }, preflight: { enabled: false } });
  await runCli(['run', '--workflow-id', 'warm', '--jobs-file', writeJobs(work, 'warm.json', jobs('warm', 14, '0')), '--config', config, '--output-dir', join(work, 'out')], env, { cwd: work });
});
afterAll(async () => { await rigs?.stop(); });
it('profile', async () => {
  const t0 = Date.now();
  const run = await runCli(['run', '--workflow-id', 'prof', '--jobs-file', writeJobs(work, 'instant.json', jobs('instant', 280, '0')), '--config', config, '--output-dir', join(work, 'out')], env, { cwd: work, timeoutMs: 600000 });
  console.log('wall', (Date.now() - t0) / 1000, run.exitCode);
  const shown = await temporalCli(['workflow', 'show', '--workflow-id', 'prof', '--output', 'json'], env);
  writeFileSync('/tmp/prof-history.json', shown.stdout);
  const runs = collectRuns(nodes).filter((r: any) => r.jobId.startsWith('instant'));
  writeFileSync('/tmp/prof-runs.json', JSON.stringify(runs));
}, 900000);
