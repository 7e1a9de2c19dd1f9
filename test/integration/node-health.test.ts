/**
 * Node health through the real stack: before every batch but the first each node is probed with
 * its `health_command`; a rig that fails is left out of that batch (its jobs go elsewhere) and
 * re-admitted when it passes, quarantined after failing too often, or fails the sweep when asked;
 * a failed job's `diagnose_command` output lands in its record.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { NodeConfig } from '../../src/shared/config';
import type { TestRigs } from '../harness/rigs';
import { runCli, type CliEnv } from '../harness/cli';
import { collectRuns, startTestCluster, writeJobs, writeUserConfig, type NodeUnderTest } from '../harness/sweep-fixture';

let rigs: TestRigs;
let env: CliEnv;
let work: string;
let nodes: NodeUnderTest[];
let configNodes: NodeConfig[];

/** The rig's health check fails while this file exists on its disk. */
const HEALTH = 'test ! -e /srv/rigsweep-rig/unhealthy || { echo "GPU 1: unknown" >&2; exit 1; }';
const sick = (rig: number) => join(rigs.rigs[rig].diskDir, 'unhealthy');

const jobs = (prefix: string, count: number, sleep: string, extra: (i: number) => string[] = () => []) =>
  Array.from({ length: count }, (_, i) => ({
    job_id: `${prefix}_${String(i).padStart(2, '0')}`,
    script: 'fake_trial.py',
    args: ['--job', `${prefix}_${String(i).padStart(2, '0')}`, '--sleep', sleep, '--output', `out/${prefix}_${i}.json`, ...extra(i)],
    expected_output: `out/${prefix}_${i}.json`,
  }));

function config(name: string, nodeHealth: Record<string, unknown>, everyNode: Record<string, unknown> = {}): string {
  return writeUserConfig(work, name, {
    nodes: configNodes.map((node) => ({ ...node, ...everyNode, ...(node.hostname === 'localhost' ? {} : { health_command: HEALTH }) })),
    job_batching: { max_jobs_per_batch: 4, max_jobs_per_node_per_batch: 2, inter_batch_cooldown_seconds: 0.5 },
    node_health: nodeHealth,
  });
}

beforeAll(async () => {
  const cluster = await startTestCluster('health', inject('temporalAddress'), { rigCount: 2, localGpus: 2, rigGpus: 2, stagger: 0.1 });
  ({ work, rigs, env, nodes, configNodes } = cluster);
});

afterAll(async () => {
  for (const rig of [0, 1]) rmSync(sick(rig), { force: true });
  await rigs?.stop();
});

describe('probes before every batch', () => {
  it('leaves a failing rig out of the next batch, gives its jobs to the others, and re-admits it once it passes', async () => {
    const rigB = rigs.rigs[1].address;
    writeFileSync(sick(1), ''); // pre-flight only checks reachability: rig B works in batch 1
    const runs = () => collectRuns(nodes).filter((r) => r.jobId.startsWith('mend_'));
    let healed = false;
    const run = await runCli(
      [
        'run',
        '--jobs-file',
        writeJobs(work, 'mend_jobs.json', jobs('mend', 16, '1')),
        '--preserve-paths',
        '--config',
        config('mend.json', { quarantine_after: 3 }),
        '--output-dir',
        join(work, 'out'),
      ],
      env,
      {
        onSpawn: () => {
          // Heal rig B once batch 2 (jobs 4-7) has started without it.
          const poll = setInterval(() => {
            if (runs().some((r) => Number(r.jobId.slice(5)) >= 4)) {
              rmSync(sick(1), { force: true });
              healed = true;
              clearInterval(poll);
            }
          }, 100);
        },
      },
    );
    expect(healed).toBe(true);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.results).toMatchObject({ successful: 16, failed: 0, quarantined: [] });
    const batchOf = (node: string) => new Set<number>(run.results!.jobs.filter((j) => j.node === node).map((j) => j.batch));
    expect(batchOf(rigB).has(1)).toBe(true);
    expect(batchOf(rigB).has(2)).toBe(false);
    expect([...batchOf(rigB)].some((batch) => batch >= 3)).toBe(true);
    expect(run.results!.warnings).toContainEqual(`before batch 2: ${rigB} left out: health_command exited 1: GPU 1: unknown`);
    expect(run.stdout).toContain(`[PROBE] ${rigB} left out before batch 2: health_command exited 1: GPU 1: unknown`);
    expect(run.stdout).toMatch(new RegExp(`\\[PROBE\\] ${rigB.replace(/\./g, '\\.')} readmitted before batch [34]`));
    expect(
      runs()
        .map((r) => r.jobId)
        .sort(),
    ).toEqual(jobs('mend', 16, '1').map((j) => j.job_id)); // each once
  });

  it('quarantines a rig that keeps failing, and keeps the diagnosis of a failed job', async () => {
    const rigB = rigs.rigs[1].address;
    writeFileSync(sick(1), '');
    try {
      const failOnRigA = (i: number) => (i === 0 ? ['--exit-code', '3'] : []);
      const cfg = config('quarantine.json', { quarantine_after: 2 }, { diagnose_command: 'echo "DIAG $(cat /proc/loadavg)"; echo "dmesg: nothing new"' });
      const run = await runCli(
        [
          'run',
          '--jobs-file',
          writeJobs(work, 'q_jobs.json', jobs('quar', 16, '0.3', failOnRigA)),
          '--preserve-paths',
          '--config',
          cfg,
          '--output-dir',
          join(work, 'out'),
          '--max-retries',
          '0',
        ],
        env,
      );
      expect(run.exitCode, run.stderr).toBe(1);
      expect(run.results!.quarantined).toEqual([{ node: rigB, reason: 'failed 2 probes in a row; last: health_command exited 1: GPU 1: unknown' }]);
      expect(run.results!.warnings).toContainEqual(expect.stringMatching(new RegExp(`^before batch 3: ${rigB.replace(/\./g, '\\.')} quarantined`)));
      expect(run.results!.jobs.filter((j) => j.node === rigB && j.batch > 1)).toEqual([]);
      const failed = run.results!.jobs.find((j) => j.job_id === 'quar_00');
      expect(failed).toMatchObject({ success: false, failure_mode: 'EXIT_CODE' });
      expect(failed!.diagnosis).toMatch(/^DIAG \d+\.\d+ .*\ndmesg: nothing new\n$/);
      expect(failed!.attempts[0].diagnosis).toBe(failed!.diagnosis);
      expect(run.results!.jobs.filter((j) => j.success && j.diagnosis !== undefined)).toEqual([]); // only after a failure
    } finally {
      rmSync(sick(1), { force: true });
    }
  });

  it('fails the sweep when node_health.on_failure is "fail", starting nothing more', async () => {
    writeFileSync(sick(0), '');
    try {
      const run = await runCli(
        [
          'run',
          '--jobs-file',
          writeJobs(work, 'strict_jobs.json', jobs('strict', 8, '0.2')),
          '--preserve-paths',
          '--config',
          config('strict.json', { on_failure: 'fail' }),
          '--output-dir',
          join(work, 'out'),
        ],
        env,
      );
      expect(run.exitCode).toBe(1);
      expect(run.stderr).toContain(
        `before batch 2: ${rigs.rigs[0].address} (health_command exited 1: GPU 1: unknown) failed the health probe; node_health.on_failure is "fail"`,
      );
      expect(collectRuns(nodes).filter((r) => r.jobId.startsWith('strict_')).length).toBe(4); // batch 1 only
    } finally {
      rmSync(sick(0), { force: true });
    }
  });
});
