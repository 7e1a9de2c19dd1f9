/**
 * The files rigsweep writes into a run folder, and the only code that reads or writes them: job
 * records appended to `results.jsonl` and spans to `timeline.jsonl` as batches finish (so an
 * interrupted sweep keeps what it did), the Results JSON and the seed's manifest written at the
 * end, and the reports drawn from them. The folder's name and marker are `src/inputs/run-folder.ts`.
 */
import { appendFile, mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { JobResult, ResultsJson } from '../shared/results';
import type { TimelineEntry } from '../shared/timeline';

export const RESULTS_JSONL = 'results.jsonl';
export const TIMELINE_JSONL = 'timeline.jsonl';
export const RESULTS_JSON = 'sweep_results.json';
export const MANIFEST_JSON = 'scripts_run_manifest.json';
export const JOBLOG_TSV = 'joblog.tsv';
export const REPORT_HTML = 'report.html';

const jsonLines = (values: readonly unknown[]) => values.map((value) => JSON.stringify(value) + '\n').join('');

/** The file's text, or null when it is not there (yet). */
async function readOptional(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/**
 * Appends whole lines. A line an earlier append left cut short (its disk filled up) is ended
 * first, so it stays a line of its own that readers skip, and the lines after it stay whole.
 */
async function appendJsonLines(resultsDir: string, name: string, values: readonly unknown[]): Promise<void> {
  await mkdir(resultsDir, { recursive: true });
  const path = join(resultsDir, name);
  await appendFile(path, ((await endsMidLine(path)) ? '\n' : '') + jsonLines(values));
}

/** True when the file's last byte is not a newline (a missing or empty file ends no line). */
async function endsMidLine(path: string): Promise<boolean> {
  const file = await open(path, 'r').catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  });
  if (!file) return false;
  try {
    const { size } = await file.stat();
    if (size === 0) return false;
    const last = Buffer.alloc(1);
    await file.read(last, 0, 1, size - 1);
    return last[0] !== 0x0a;
  } finally {
    await file.close();
  }
}

/** The values of a JSON-lines text; a line cut short (a full disk, a write in progress) is skipped, never fatal. */
function parseJsonLines<T>(text: string): T[] {
  return text.split('\n').flatMap((line) => {
    try {
      return line.trim() ? [JSON.parse(line) as T] : [];
    } catch {
      return [];
    }
  });
}

/**
 * Replaces the file in one step, so a reader never sees half of it. The temporary name is per
 * process: the sweep's activity and a `rigsweep report` may write the same folder at once.
 */
export async function writeAtomically(path: string, text: string): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, text);
  await rename(temporary, path).catch(async (error: unknown) => {
    await rm(temporary, { force: true });
    throw error;
  });
}

/** Starts a run's records and timeline afresh: a workflow id used again must not inherit an old run's lines. */
export async function startRunRecords(resultsDir: string): Promise<void> {
  await mkdir(resultsDir, { recursive: true });
  await writeFile(join(resultsDir, RESULTS_JSONL), '');
  await writeFile(join(resultsDir, TIMELINE_JSONL), '');
}

export async function appendJobResults(resultsDir: string, results: JobResult[]): Promise<void> {
  await appendJsonLines(resultsDir, RESULTS_JSONL, results);
}

/** Every job's last record, in the order jobs first appear in the file (a retried append may have written one twice; a cut line is skipped). */
export async function readJobResults(resultsDir: string): Promise<JobResult[]> {
  const text = (await readOptional(join(resultsDir, RESULTS_JSONL))) ?? '';
  const byId = new Map<string, JobResult>();
  for (const job of parseJsonLines<JobResult>(text)) byId.set(job.job_id, job);
  return [...byId.values()];
}

export async function appendTimeline(resultsDir: string, entries: TimelineEntry[]): Promise<void> {
  if (entries.length > 0) await appendJsonLines(resultsDir, TIMELINE_JSONL, entries);
}

/** The timeline's entries, or null without a timeline.jsonl; a line cut off by a write in progress is skipped, not fatal. */
export async function readTimeline(resultsDir: string): Promise<TimelineEntry[] | null> {
  const text = await readOptional(join(resultsDir, TIMELINE_JSONL));
  return text === null ? null : parseJsonLines<TimelineEntry>(text);
}

/** The Results JSON, or null before the sweep has written one. */
export async function readResultsJson(resultsDir: string): Promise<ResultsJson | null> {
  const text = await readOptional(join(resultsDir, RESULTS_JSON));
  return text === null ? null : (JSON.parse(text) as ResultsJson);
}

/**
 * The end of a sweep: `results.jsonl` again with each job's last record only (a retried append may
 * have doubled one), the Results JSON and the seed's manifest, each replaced in one step.
 */
export async function writeResultsFiles(resultsDir: string, files: { jobs: JobResult[]; results: ResultsJson; manifest: object }): Promise<void> {
  await mkdir(resultsDir, { recursive: true });
  await writeAtomically(join(resultsDir, RESULTS_JSONL), jsonLines(files.jobs));
  await writeAtomically(join(resultsDir, RESULTS_JSON), JSON.stringify(files.results, null, 2) + '\n');
  await writeAtomically(join(resultsDir, MANIFEST_JSON), JSON.stringify(files.manifest, null, 2) + '\n');
}
