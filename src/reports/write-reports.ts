/**
 * Writes the end-of-sweep reports — `joblog.tsv` and `report.html` — into a run's results folder,
 * from what is already there: `results.jsonl`, `timeline.jsonl` and `sweep_results.json`. It
 * runs at the end of every sweep and again on demand (`rigsweep report`), also mid-sweep.
 */
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { readJobResults, RESULTS_JSON } from '../activities/results-files';
import type { ResultsJson } from '../shared/results';
import { TIMELINE_JSONL, type TimelineEntry } from '../shared/timeline';
import { listAttempts } from './attempts';
import { renderHtmlReport } from './html-report';
import { formatJoblog } from './joblog';

export const JOBLOG_TSV = 'joblog.tsv';
export const REPORT_HTML = 'report.html';

export interface ReportPaths {
  joblog: string;
  html: string;
}

/** The file's text, or null when it is not there (yet). */
async function readOptional(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** Entries of timeline.jsonl; a line cut off by a write in progress is skipped, not fatal. */
export function parseTimeline(text: string): TimelineEntry[] {
  return text.split('\n').flatMap((line) => {
    try {
      return line.trim() ? [JSON.parse(line) as TimelineEntry] : [];
    } catch {
      return [];
    }
  });
}

/**
 * Replaces the file in one step, so a reader never sees half a report. The temporary name is
 * per process: the sweep's activity and a `rigsweep report` may write the same folder at once.
 */
async function writeAtomically(path: string, text: string): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, text);
  await rename(temporary, path).catch(async (error: unknown) => {
    await rm(temporary, { force: true });
    throw error;
  });
}

/** Reads the run's records, writes both reports next to them and returns their paths. */
export async function writeReports(resultsDir: string, now = new Date()): Promise<ReportPaths> {
  const jobs = await readJobResults(resultsDir);
  const resultsText = await readOptional(join(resultsDir, RESULTS_JSON));
  const results = resultsText === null ? null : (JSON.parse(resultsText) as ResultsJson);
  const timelineText = await readOptional(join(resultsDir, TIMELINE_JSONL));
  const paths = { joblog: join(resultsDir, JOBLOG_TSV), html: join(resultsDir, REPORT_HTML) };
  await writeAtomically(paths.joblog, formatJoblog(listAttempts(jobs)));
  const html = renderHtmlReport({
    runId: results?.run_id ?? basename(resultsDir),
    results,
    jobs,
    timeline: timelineText === null ? null : parseTimeline(timelineText),
    generatedAt: now,
  });
  await writeAtomically(paths.html, html);
  return paths;
}
