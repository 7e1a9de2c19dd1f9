/**
 * A node's health probe: what it reads (load, memory, /dev/shm, GPUs, missing tools and odd
 * output) and the probe script itself, run by /bin/sh with the rigs' rocm-smi stand-in on PATH.
 * The GPU tools' own output: node-health-smi.test.ts.
 */
import { existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalShell } from '../../src/rigs/local-shell';
import { assessNode, parseProbeOutput, type ProbeReadings } from '../../src/rigs/node-health';
import { nodeHealth, probeScript, readProbe, type ProbeAsk, type ProbeShell } from '../../src/rigs/node-probe';
import { SshConnectError } from '../../src/rigs/ssh-errors';
import type { SweepNode } from '../../src/shared/nodes';
import { STANDIN, standinOutput } from './rocm-smi-standin';
const M = '@@rigsweep:';
const GIB_KB = 1024 * 1024;
function probeOutput(
  parts: { meminfo?: [number, number]; shm?: number; rocm?: string | null; rocmExit?: number; nvidia?: string | null; nvidiaExit?: number } = {},
): string {
  const [total, available] = parts.meminfo ?? [32 * GIB_KB, 20 * GIB_KB];
  const tool = (text: string | null | undefined, exit = 0) => (text === null || text === undefined ? `${M}missing` : `${text}\n${M}exit ${exit}`);
  return (
    [
      `${M}loadavg`,
      '1.25 0.80 0.50 2/345 6789',
      `${M}meminfo`,
      `MemTotal:       ${total} kB`,
      `MemAvailable:   ${available} kB`,
      `${M}shm`,
      'Filesystem     1024-blocks  Used Available Capacity Mounted on',
      `tmpfs             16000000  0 16000000       ${parts.shm ?? 3}% /dev/shm`,
      `${M}rocm-smi`,
      tool(parts.rocm, parts.rocmExit),
      `${M}nvidia-smi`,
      tool(parts.nvidia, parts.nvidiaExit),
    ].join('\n') + '\n'
  );
}
const rig = { name: 'rig1', gpuCount: 4, isRocm: true };
const labels = (readings: ProbeReadings, node = rig) => assessNode(node, readings, 2.5).warnings.map((warning) => warning.label);

describe('parseProbeOutput and assessNode', () => {
  it('reads load, memory and /dev/shm, and a healthy ROCm rig has no warning', () => {
    const readings = parseProbeOutput(probeOutput({ rocm: standinOutput() }));
    expect(readings).toMatchObject({ load1m: 1.25, memTotalBytes: 32 * 1024 ** 3, memAvailableBytes: 20 * 1024 ** 3, shmUsedPercent: 3 });
    expect(assessNode(rig, readings, 2.5)).toMatchObject({
      node: 'rig1',
      reachable: true,
      latency_ms: 2.5,
      gpu_tool: 'rocm-smi',
      gpus_seen: 4,
      gpus_configured: 4,
      warnings: [],
    });
  });

  it('warns of an unknown GPU, missing GPUs, low memory and a full /dev/shm, each with a sentence', () => {
    const health = assessNode(
      { ...rig, gpuCount: 8 },
      parseProbeOutput(probeOutput({ rocm: standinOutput({ gpus: 6, unknown: true }), meminfo: [32 * GIB_KB, 3 * GIB_KB], shm: 91 })),
      1,
    );
    expect(health.warnings.map((warning) => warning.label)).toEqual(['GPUs 6/8', 'GPU 5 unknown', 'low memory', '/dev/shm 91%']);
    expect(health.warnings.map((warning) => warning.message)).toEqual([
      'rocm-smi sees 6 of 8 configured GPUs',
      'GPU 5 in an unknown state per rocm-smi (the signature of a freezing rig)',
      'only 3.0 GiB of 32.0 GiB memory available (< 10%)',
      '/dev/shm is 91% full (> 80%)',
    ]);
  });

  it('reads GPUs with the node\'s own vendor tool first, and says "-" (no warning) when it has neither', () => {
    const both = parseProbeOutput(probeOutput({ rocm: standinOutput({ gpus: 2 }), nvidia: '0, NVIDIA GeForce RTX 3080 Ti, 7 %, 712 MiB, 12288 MiB' }));
    expect(assessNode({ name: 'localhost', gpuCount: 1, isRocm: false }, both, 0.4)).toMatchObject({ gpu_tool: 'nvidia-smi', gpus_seen: 1, warnings: [] });
    expect(assessNode({ ...rig, gpuCount: 2 }, both, 0.4)).toMatchObject({ gpu_tool: 'rocm-smi', gpus_seen: 2 });
    const none = assessNode(rig, parseProbeOutput(probeOutput()), 0.4);
    expect(none).toMatchObject({ gpu_tool: null, gpus_seen: null, gpus: [], warnings: [] });
  });

  it('says what a failing tool printed, and that a hung one was killed', () => {
    const failed = parseProbeOutput(probeOutput({ nvidia: "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.", nvidiaExit: 9 }));
    expect(assessNode({ name: 'localhost', gpuCount: 2, isRocm: false }, failed, 1).warnings.map((warning) => warning.message)).toEqual([
      "nvidia-smi sees 0 of 2 configured GPUs (nvidia-smi: NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.)",
    ]);
    expect(labels(parseProbeOutput(probeOutput({ rocm: '', rocmExit: 124 })))).toEqual(['rocm-smi hung', 'GPUs 0/4']);
  });

  it('leaves what it cannot read empty rather than guessing', () => {
    for (const odd of ['', 'garbage\n', `${M}loadavg\n${M}meminfo\nMemTotal: lots\n${M}shm\ndf: /dev/shm: No such file or directory\n`]) {
      const readings = parseProbeOutput(odd);
      expect(readings).toEqual({
        load1m: null,
        memTotalBytes: null,
        memAvailableBytes: null,
        shmUsedPercent: null,
        tools: { 'rocm-smi': null, 'nvidia-smi': null },
      });
      expect(labels(readings)).toEqual([]);
    }
  });
});

describe('the one node probe', () => {
  const node: SweepNode = {
    name: 'rig1',
    hostname: 'rig1',
    scriptPath: '/',
    pythonEnv: '/opt/rocm_env/bin/python',
    gpuCount: 4,
    maxConcurrent: 4,
    staggerSeconds: 2,
    isLocal: false,
    isRocm: true,
  };
  const local = new LocalShell();

  /** Runs the probe script for real with its own HOME and script_path, as a node would. */
  async function probeFor(target: SweepNode, ask: ProbeAsk, timeoutMs = 10_000) {
    const home = mkdtempSync(join(tmpdir(), 'rigsweep-probe-home-'));
    mkdirSync(join(home, '.cache', 'hip'), { recursive: true });
    const started = Date.now();
    const exit = await local.run(`export HOME="${home}"\n${probeScript(target, ask)}`, { timeoutMs });
    return { probe: readProbe(target, ask, exit, Date.now() - started), hipCacheLeft: existsSync(join(home, '.cache', 'hip')) };
  }

  it("pre-flight's check: reachable, and on a ROCm node the HIP kernel cache cleared; not on others, nor when not asked", async () => {
    const rocm = await probeFor(node, { clearHipCache: true });
    expect(rocm.probe).toMatchObject({
      reachable: true,
      hip_cache_cleared: true,
      healthy: null,
      message: expect.stringMatching(/^reachable \(\d+ ms\), HIP kernel cache cleared$/) as unknown,
    });
    expect(rocm.hipCacheLeft).toBe(false);
    const nvidia = await probeFor({ ...node, isRocm: false }, { clearHipCache: true });
    expect(nvidia.probe).toMatchObject({ reachable: true, hip_cache_cleared: null });
    expect(nvidia.hipCacheLeft).toBe(true);
    expect((await probeFor(node, {})).hipCacheLeft).toBe(true);
  });

  it('the health probe: health_command run in script_path, its exit code and the tail of what it said; `exit` inside it ends only itself', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rigsweep-probe-script-'));
    writeFileSync(join(dir, 'marker'), '');
    const passing = await probeFor({ ...node, scriptPath: dir, healthCommand: 'test -f marker' }, { health: true });
    expect(passing.probe).toMatchObject({ reachable: true, healthy: true, message: expect.stringMatching(/^healthy \(\d+ ms\)$/) as unknown });
    const failing = await probeFor({ ...node, scriptPath: dir, healthCommand: 'echo GPU 3 unknown; exit 3' }, { health: true, readings: true });
    expect(failing.probe).toMatchObject({ reachable: true, healthy: false, message: 'health_command exited 3: GPU 3 unknown' });
    expect(failing.probe.readings?.load1m).toEqual(expect.any(Number));
    expect((await probeFor({ ...node, healthCommand: undefined }, { health: true })).probe).toMatchObject({ reachable: true, healthy: null });
  });

  it('a health command that hangs fails the probe as unhealthy; a node that says nothing of the probe is unreachable', async () => {
    const hung = await probeFor({ ...node, healthCommand: 'sleep 5' }, { health: true }, 300);
    expect(hung.probe).toMatchObject({ reachable: true, healthy: false, message: 'health_command gave no answer within 30 s' });
    const silent = readProbe(node, {}, { exitCode: 255, stdout: '', stderr: 'Connection closed', timedOut: false }, 5);
    expect(silent).toMatchObject({ reachable: false, healthy: null, message: 'unreachable: unexpected answer: Connection closed' });
  });
});

describe('nodeHealth (rigsweep nodes)', () => {
  const node: SweepNode = {
    name: 'rig1',
    hostname: 'rig1',
    scriptPath: '/',
    pythonEnv: '/opt/rocm_env/bin/python',
    gpuCount: 4,
    maxConcurrent: 4,
    staggerSeconds: 2,
    isLocal: false,
    isRocm: true,
  };

  it('runs the probe script with /bin/sh in one exec, reads the stand-in, then times three warm `true` round trips', async () => {
    const bin = mkdtempSync(join(tmpdir(), 'rigsweep-probe-bin-'));
    symlinkSync(STANDIN, join(bin, 'rocm-smi'));
    const root = mkdtempSync(join(tmpdir(), 'rigsweep-probe-root-'));
    writeFileSync(join(root, 'gpu-unknown'), '');
    const local = new LocalShell();
    const commands: string[] = [];
    const shell: ProbeShell = {
      run: (command, options) => (commands.push(command), local.run(`export PATH="${bin}:$PATH" RIGSWEEP_STANDIN_ROOT="${root}"\n${command}`, options)),
    };
    const health = await nodeHealth(shell, { ...node, healthCommand: 'exit 1' });
    expect(commands).toEqual([probeScript({ ...node, healthCommand: 'exit 1' }, { health: true, readings: true }), 'true', 'true', 'true']);
    expect(health).toMatchObject({
      reachable: true,
      gpu_tool: 'rocm-smi',
      gpus_seen: 4,
      load_1m: expect.any(Number) as unknown,
      mem_available_bytes: expect.any(Number) as unknown,
    });
    expect(health.latency_ms).toBeGreaterThan(0);
    expect(health.warnings.map((warning) => warning.label)).toEqual(expect.arrayContaining(['GPU 3 unknown', 'health_command']));
  });

  it('reports an unreachable node with the SSH error, and a probe that never finishes', async () => {
    const refused: ProbeShell = { run: () => Promise.reject(new SshConnectError('rig1', 'cannot connect to u@rig1:22: connection refused')) };
    expect(await nodeHealth(refused, node)).toMatchObject({
      reachable: false,
      latency_ms: null,
      warnings: [{ label: 'unreachable', message: 'unreachable: cannot connect to u@rig1:22: connection refused' }],
    });
    const stuck: ProbeShell = {
      run: () => Promise.resolve({ exitCode: null, signal: null, stdout: '@@rigsweep:reached\n', stderr: '', timedOut: true, durationMs: 30_000 }),
    };
    expect((await nodeHealth(stuck, node)).warnings[0].message).toBe('unreachable: connected, but the probe did not finish within 30 s');
  });
});
