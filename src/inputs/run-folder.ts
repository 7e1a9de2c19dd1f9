/**
 * The run id users see and the run folder it names, as the seed made them:
 * `<stem of --output-dir>_<YYYYmmdd_HHMMSS>` in the local time of the host that plans the sweep,
 * e.g. `full_scoring_results_20260115_143005`, so the user's scripts find the newest run with
 * `ls -td full_scoring_results/full_scoring_results_* | head -1`. Two sweeps started in the same
 * second get `_2`, `_3`, ...: each run folder is created atomically by exactly one sweep, and a
 * marker in it names that sweep's workflow id, so a retried plan finds its own folder again.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join, parse } from 'node:path';

/** In every run folder: the workflow id of the sweep it belongs to. Hidden, so no glob of the user's picks it up. */
export const SWEEP_MARKER = '.rigsweep-sweep-id';

/** Python's `Path(output_dir).stem`: the last component without its last suffix. */
export function outputDirStem(outputDir: string): string {
  const last = basename(outputDir.replace(/\/+$/, '')) || 'results';
  return parse(last).name || last;
}

/** `<stem>_<YYYYmmdd_HHMMSS>` of `at`, in this host's local time. */
export function seedRunId(outputDir: string, at: Date): string {
  const two = (value: number) => String(value).padStart(2, '0');
  const date = `${at.getFullYear()}${two(at.getMonth() + 1)}${two(at.getDate())}`;
  const time = `${two(at.getHours())}${two(at.getMinutes())}${two(at.getSeconds())}`;
  return `${outputDirStem(outputDir)}_${date}_${time}`;
}

/**
 * Creates the sweep's run folder below `outputDir` (absolute) and returns its name, the run id:
 * `base`, else `base_2`, `base_3`, ... — the first that no other sweep holds. A folder this sweep
 * made before (the plan activity retried) is its own again.
 */
export async function claimRunFolder(outputDir: string, base: string, sweepId: string): Promise<string> {
  await mkdir(outputDir, { recursive: true });
  for (let n = 1; ; n++) {
    const runId = n === 1 ? base : `${base}_${n}`;
    const folder = join(outputDir, runId);
    try {
      await mkdir(folder);
      await writeFile(join(folder, SWEEP_MARKER), `${sweepId}\n`);
      return runId;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if ((await sweepOfFolder(folder)) === sweepId) return runId;
    }
  }
}

/** The workflow id of the sweep a run folder belongs to (null when it has no marker). */
export async function sweepOfFolder(folder: string): Promise<string | null> {
  return readFile(join(folder, SWEEP_MARKER), 'utf8').then(
    (text) => text.trim(),
    () => null,
  );
}

/** The run folder below `outputDir` that belongs to sweep `sweepId`, if any. */
export async function findRunFolder(outputDir: string, sweepId: string): Promise<string | null> {
  const entries = await readdir(outputDir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (entry.isDirectory() && (await sweepOfFolder(join(outputDir, entry.name))) === sweepId) return join(outputDir, entry.name);
  }
  return null;
}
