/**
 * Reading a node's health probe: the rigs' rocm-smi stand-in, rocm-smi's concise table as real
 * ROCm releases print it (1.x to 6.x, healthy, partly N/A and hung), nvidia-smi's CSV, missing
 * tools and odd output; then the probe script itself, run by /bin/sh with the stand-in on PATH.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalShell } from '../../src/rigs/local-shell';
import { assessNode, parseNvidiaSmi, parseProbeOutput, parseRocmSmi, type ProbeReadings } from '../../src/rigs/node-health';
import { nodeHealth, probeScript, readProbe, type ProbeAsk, type ProbeShell } from '../../src/rigs/node-probe';
import { SshConnectError } from '../../src/rigs/ssh-errors';
import type { SweepNode } from '../../src/shared/nodes';

const STANDIN = resolve(__dirname, '..', 'fixtures', 'standins', 'rocm-smi');

/** The rigs' stand-in rocm-smi, run for real with its own root (gpu_count, gpu-unknown). */
function standinOutput(options: { gpus?: number; unknown?: boolean } = {}): string {
  const root = mkdtempSync(join(tmpdir(), 'rigsweep-smi-'));
  if (options.gpus !== undefined) writeFileSync(join(root, 'gpu_count'), String(options.gpus));
  if (options.unknown) writeFileSync(join(root, 'gpu-unknown'), '');
  return execFileSync(STANDIN, { env: { ...process.env, RIGSWEEP_STANDIN_ROOT: root }, encoding: 'utf8' });
}

const states = (gpus: { index: number; state: string }[]) => gpus.map((gpu) => `${gpu.index}:${gpu.state}`);

// rocm-smi's concise table in the layouts of successive ROCm releases (values are made up).
const ROCM_1X = `====================    ROCm System Management Interface    ====================
================================================================================
 GPU  Temp    AvgPwr   SCLK     MCLK     Fan      Perf    SCLK OD
  0   51.0c   88.12W   1266Mhz  2000Mhz  40.0%    auto      0%
  1   49.0c   90.5W    1266Mhz  2000Mhz  40.0%    auto      0%
================================================================================
====================           End of ROCm SMI Log          ====================`;

const ROCM_3X_VRAM_NA = `========================ROCm System Management Interface========================
================================================================================
GPU  Temp   AvgPwr  SCLK    MCLK    Fan     Perf  PwrCap  VRAM%  GPU%
0    31.0c  5.0W    852Mhz  167Mhz  14.9%   auto  170.0W  N/A    12%
================================================================================
==============================End of ROCm SMI Log ==============================`;

// ROCm 5: secondary dies report no power (N/A) and are perfectly healthy.
const ROCM_5X_SECONDARY_DIES = `======================= ROCm System Management Interface =======================
================================= Concise Info =================================
GPU  Temp   AvgPwr  SCLK    MCLK     Fan  Perf  PwrCap  VRAM%  GPU%
0    44.0c  93.0W   800Mhz  1600Mhz  0%   auto  560.0W    3%   61%
1    43.0c  N/A     800Mhz  1600Mhz  0%   auto  0.0W      0%   0%
2    45.0c  95.0W   800Mhz  1600Mhz  0%   auto  560.0W    0%   0%
3    41.0c  N/A     800Mhz  1600Mhz  0%   auto  0.0W      0%   0%
================================================================================
============================= End of ROCm SMI Log ==============================`;

// A GPU the driver lost after a crashed job: ERROR lines around the table, Perf "unknown".
const ROCM_HUNG = `======================= ROCm System Management Interface =======================
================================= Concise Info =================================
Expected integer value from monitor, but got ""
ERROR: 15 GPU[0]: power: Data (usually from reading a file) was not of the type that was expected
================================================================================
================================================================================
Expected integer value from monitor, but got ""
GPU  Temp  AvgPwr  SCLK  MCLK  Fan   Perf     PwrCap       VRAM%  GPU%  
0    N/A   N/A     None  None  0.0%  unknown  Unsupported    0%   0%    
1    38.0c 20.0W   500Mhz 96Mhz 0.0% auto     203.0W         1%   0%    
================================================================================
WARNING:  		 One or more commands failed
============================= End of ROCm SMI Log ==============================`;

// ROCm 6: two header lines and a model column; a Perf of N/A is a lost GPU too.
const ROCM_6X = `======================================= ROCm System Management Interface =======================================
================================================= Concise Info =================================================
Device  [Model : Revision]    Temp    Power  Partitions      SCLK    MCLK    Fan     Perf  PwrCap  VRAM%  GPU%  
        Name (20 chars)       (Edge)  (Avg)  (Mem, Compute)                                                     
================================================================================================================
0       [0x5028 : 0xc1]       47.0°C  31.0W  N/A, N/A        2050Mhz 1000Mhz 29.8%   auto  203.0W  71%    99%   
        7900 XTX                                                                                                
1       [0x5028 : 0xc1]       N/A     N/A    N/A, N/A        N/A     N/A     0%      N/A   N/A     0%     0%    
        7900 XTX                                                                                                
================================================================================================================
============================================= End of ROCm SMI Log ==============================================`;

describe('parseRocmSmi', () => {
  it("reads the rigs' stand-in: every GPU, and the last one unknown when gpu-unknown exists", () => {
    expect(states(parseRocmSmi(standinOutput()))).toEqual(['0:ok', '1:ok', '2:ok', '3:ok']);
    const lost = parseRocmSmi(standinOutput({ gpus: 8, unknown: true }));
    expect(states(lost)).toEqual(['0:ok', '1:ok', '2:ok', '3:ok', '4:ok', '5:ok', '6:ok', '7:unknown']);
    expect(lost[0]).toMatchObject({ temperature_c: 34, utilization_percent: 0, name: null });
    expect(lost[7]).toMatchObject({ temperature_c: null });
    expect(parseRocmSmi(standinOutput({ gpus: 0 }))).toEqual([]);
  });

  it('reads the concise table of ROCm 1.x to 6.x, where N/A in other columns is no fault', () => {
    expect(parseRocmSmi(ROCM_1X)).toEqual([
      { index: 0, name: null, state: 'ok', temperature_c: 51, utilization_percent: null },
      { index: 1, name: null, state: 'ok', temperature_c: 49, utilization_percent: null },
    ]);
    expect(parseRocmSmi(ROCM_3X_VRAM_NA)).toEqual([{ index: 0, name: null, state: 'ok', temperature_c: 31, utilization_percent: 12 }]);
    const dies = parseRocmSmi(ROCM_5X_SECONDARY_DIES);
    expect(states(dies)).toEqual(['0:ok', '1:ok', '2:ok', '3:ok']);
    expect(dies.map((gpu) => gpu.utilization_percent)).toEqual([61, 0, 0, 0]);
  });

  it('flags a GPU the driver lost: Perf "unknown" between ERROR lines, or Perf N/A (ROCm 6, name lines skipped)', () => {
    const hung = parseRocmSmi(ROCM_HUNG);
    expect(states(hung)).toEqual(['0:unknown', '1:ok']);
    expect(hung[0].temperature_c).toBeNull();
    const six = parseRocmSmi(ROCM_6X);
    expect(states(six)).toEqual(['0:ok', '1:unknown']);
    expect(six[0]).toMatchObject({ temperature_c: 47, utilization_percent: 99 });
  });

  it('finds no GPU in output without a table', () => {
    expect(parseRocmSmi('')).toEqual([]);
    expect(parseRocmSmi('WARNING: No AMD GPUs specified\n')).toEqual([]);
    expect(parseRocmSmi('Traceback (most recent call last):\n  File "/opt/rocm/bin/rocm-smi", line 12\n3 frames\n')).toEqual([]);
  });
});

describe('parseNvidiaSmi', () => {
  it('reads one CSV row per GPU, names with commas included', () => {
    const output =
      '0, NVIDIA GeForce RTX 3080 Ti, 7 %, 712 MiB, 12288 MiB\n1, Tesla V100-SXM2-16GB, 100 %, 16000 MiB, 16384 MiB\n2, Weird, Name, 0 %, 1 MiB, 2 MiB\n';
    expect(parseNvidiaSmi(output)).toEqual([
      { index: 0, name: 'NVIDIA GeForce RTX 3080 Ti', state: 'ok', temperature_c: null, utilization_percent: 7 },
      { index: 1, name: 'Tesla V100-SXM2-16GB', state: 'ok', temperature_c: null, utilization_percent: 100 },
      { index: 2, name: 'Weird, Name', state: 'ok', temperature_c: null, utilization_percent: 0 },
    ]);
  });

  it('marks a GPU without a utilization unknown and skips driver error lines', () => {
    const output = [
      'Unable to determine the device handle for GPU0000:02:00.0: Unknown Error',
      '0, NVIDIA GeForce RTX 3080, [N/A], [N/A], [N/A]',
      '1, NVIDIA GeForce RTX 3080, [GPU is lost], [GPU is lost], [GPU is lost]',
      '2, NVIDIA GeForce RTX 3080, 0 %, 5 MiB, 10240 MiB',
    ].join('\n');
    expect(states(parseNvidiaSmi(output))).toEqual(['0:unknown', '1:unknown', '2:ok']);
    expect(parseNvidiaSmi("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.")).toEqual([]);
  });
});

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
