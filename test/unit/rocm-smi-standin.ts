/** The rigs' stand-in rocm-smi (test/fixtures/standins), for the node-health tests. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const STANDIN = resolve(__dirname, '..', 'fixtures', 'standins', 'rocm-smi');

/** The rigs' stand-in rocm-smi, run for real with its own root (gpu_count, gpu-unknown). */
export function standinOutput(options: { gpus?: number; unknown?: boolean } = {}): string {
  const root = mkdtempSync(join(tmpdir(), 'rigsweep-smi-'));
  if (options.gpus !== undefined) writeFileSync(join(root, 'gpu_count'), String(options.gpus));
  if (options.unknown) writeFileSync(join(root, 'gpu-unknown'), '');
  return execFileSync(STANDIN, { env: { ...process.env, RIGSWEEP_STANDIN_ROOT: root }, encoding: 'utf8' });
}
