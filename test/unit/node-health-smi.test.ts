/**
 * Reading the GPU tools a node's health probe runs: the rigs' rocm-smi stand-in, rocm-smi's
 * concise table as real ROCm releases print it (1.x to 6.x, healthy, partly N/A and hung), and
 * nvidia-smi's CSV with driver error lines. The probe itself: node-health.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { parseNvidiaSmi, parseRocmSmi } from '../../src/rigs/node-health';
import { standinOutput } from './rocm-smi-standin';

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
