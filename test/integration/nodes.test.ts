/**
 * `rigsweep nodes` through the real CLI, with no Temporal server (the address points at a closed
 * port): localhost, two sshd test rigs — one of them with a GPU its rocm-smi stand-in shows as
 * "unknown" — and an address in the rigs' subnet where nobody answers.
 */
import { mkdtempSync, chmodSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeHealth } from '../../src/rigs/node-health';
import type { NodeConfig } from '../../src/shared/config';
import { readCalls, startRigs, type TestRigs } from '../harness/rigs';
import { type CliEnv, runCli } from '../harness/cli';
import { clusterNodes, writeUserConfig } from '../harness/sweep-fixture';

let rigs: TestRigs;
let env: CliEnv;
let work: string;
let configNodes: NodeConfig[];
let frozenRig: string;
const PHANTOM = '10.231.0.99';

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'rigsweep-nodes-'));
  chmodSync(work, 0o755);
  rigs = await startRigs({ count: 2, stateDir: join(work, 'rigs') });
  env = { temporalAddress: '127.0.0.1:1', taskQueue: 'no-worker-needed', home: rigs.home };
  configNodes = clusterNodes(rigs, { localGpus: 2, rigGpus: 4 }).configNodes;
  // The stand-in's root on rig 2 is its disk: this file makes its last GPU read "unknown".
  writeFileSync(join(rigs.rigs[1].diskDir, 'gpu-unknown'), '');
  frozenRig = rigs.rigs[1].address;
});

afterAll(async () => {
  await rigs?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** The table's body rows by node name, each as its trimmed cells. */
function tableRows(stdout: string): Map<string, string[]> {
  const rows = stdout
    .split('\n')
    .filter((line) => line.startsWith('│'))
    .map((line) =>
      line
        .split('│')
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );
  expect(rows[0]).toEqual(['node', 'reachable', 'latency ms', 'GPUs cfg', 'GPUs seen', 'load 1m', 'free memory', '/dev/shm', 'warnings']);
  return new Map(rows.slice(1).map((cells) => [cells[0], cells]));
}

describe('rigsweep nodes', () => {
  it('shows every node: rigs with latency and the GPUs rocm-smi sees, the unknown GPU on its rig, the dead address; exits 1', async () => {
    const config = writeUserConfig(work, 'cluster.json', { nodes: [...configNodes, { ...configNodes[1], hostname: PHANTOM }] });
    const run = await runCli(['nodes', '--config', config], env);
    expect(run.exitCode, run.stderr).toBe(1);
    const rows = tableRows(run.stdout);
    expect([...rows.keys()]).toEqual(['localhost', rigs.rigs[0].address, frozenRig, PHANTOM]);
    for (const rig of rigs.rigs) {
      const [, reachable, latency, configured, seen, load, free, shm] = rows.get(rig.address)!;
      expect([reachable, configured, seen]).toEqual(['yes', '4', '4']);
      expect(Number(latency)).toBeGreaterThan(0);
      expect(load).toMatch(/^\d+\.\d\d$/);
      expect(free).toMatch(/^\d+\.\d GiB \(\d+%\)$/);
      expect(shm).toMatch(/^\d+%$/);
    }
    expect(rows.get(rigs.rigs[0].address)![8]).toBe('-');
    expect(rows.get(frozenRig)![8]).toBe('GPU 3 unknown');
    expect(rows.get(PHANTOM)!.slice(1)).toEqual(['NO', '-', '4', '-', '-', '-', '-', 'unreachable']);
    expect(rows.get('localhost')!.slice(1, 5)).toEqual(['yes', expect.stringMatching(/^\d+\.\d$/), '2', '-']);
    expect(run.stdout).toContain(`warning: ${frozenRig}: GPU 3 in an unknown state per rocm-smi`);
    expect(run.stdout).toMatch(
      new RegExp(`^warning: ${PHANTOM.replace(/\./g, '\\.')}: unreachable: cannot connect to ${rigs.user}@${PHANTOM.replace(/\./g, '\\.')}:22: .+$`, 'm'),
    );
    expect(run.stdout.trim().split('\n').at(-1)).toBe('2 of 4 nodes need a look');
    // The GPUs came from rocm-smi on each rig: its stand-in recorded the probe's call there.
    for (const rig of rigs.rigs) expect(readCalls(rig.callsLog).filter((call) => call.tool === 'rocm-smi').length).toBeGreaterThan(0);
  });

  it('prints the same probes as JSON with --json', async () => {
    const config = writeUserConfig(work, 'cluster-json.json', { nodes: [configNodes[1], configNodes[2], { ...configNodes[1], hostname: PHANTOM }] });
    const run = await runCli(['nodes', '--config', config, '--json'], env);
    expect(run.exitCode, run.stderr).toBe(1);
    const report = JSON.parse(run.stdout) as NodeHealth[];
    expect(report.map((health) => [health.node, health.reachable, health.gpu_tool, health.gpus_seen])).toEqual([
      [rigs.rigs[0].address, true, 'rocm-smi', 4],
      [frozenRig, true, 'rocm-smi', 4],
      [PHANTOM, false, null, null],
    ]);
    expect(report[0].latency_ms).toBeGreaterThan(0);
    expect(report[0].warnings).toEqual([]);
    expect(report[1].gpus.map((gpu) => gpu.state)).toEqual(['ok', 'ok', 'ok', 'unknown']);
    expect(report[1].warnings.map((warning) => warning.label)).toEqual(['GPU 3 unknown']);
    expect(report[2].warnings).toEqual([
      { label: 'unreachable', message: expect.stringMatching(new RegExp(`^unreachable: cannot connect to ${rigs.user}@${PHANTOM}:22: `)) as unknown },
    ]);
  });

  it('exits 0 when every node is healthy', async () => {
    const config = writeUserConfig(work, 'healthy.json', { nodes: [configNodes[0], configNodes[1]] });
    const run = await runCli(['nodes', '--config', config], env);
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).not.toContain('warning:');
    expect(run.stdout.trim().split('\n').at(-1)).toBe('all 2 nodes healthy');
  });

  it('exits 2 on a bad config with a message naming the file and the field, and probes nothing', async () => {
    const config = writeUserConfig(work, 'bad.json', { nodes: [{ ...configNodes[1], gpu_count: 'eight' }] });
    const callsBefore = readCalls(rigs.rigs[0].callsLog).length;
    const run = await runCli(['nodes', '--config', config], env);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain(`${config}: nodes[0].gpu_count:`);
    expect(run.stdout).toBe('');
    expect(readCalls(rigs.rigs[0].callsLog)).toHaveLength(callsBefore);
  });
});
