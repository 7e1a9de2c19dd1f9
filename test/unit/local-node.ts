/** A node on this machine for tests that run jobs for real: `/bin/sh` as its interpreter, 16 GPUs, no stagger. */
import type { SweepNode } from '../../src/shared/nodes';

export function localNodeAt(scriptPath: string, name = 'localhost'): SweepNode {
  return { name, hostname: name, scriptPath, pythonEnv: '/bin/sh', gpuCount: 16, maxConcurrent: 16, staggerSeconds: 0, isLocal: true, isRocm: false };
}
