/**
 * Writes the end-of-sweep reports — `joblog.tsv` and `report.html` — into a run's results folder,
 * from what is already there: `results.jsonl`, `timeline.jsonl` and `sweep_results.json`. It
 * runs at the end of every sweep and again on demand (`rigsweep report`), also mid-sweep.
 */
import { basename, join } from 'node:path';
import { JOBLOG_TSV, readJobResults, readResultsJson, readTimeline, REPORT_HTML, writeAtomically } from '../results/run-files';
import { listAttempts } from './attempts';
import { renderHtmlReport } from './html-report';
import { formatJoblog } from './joblog';

export interface ReportPaths {
  joblog: string;
  html: string;
}

/** Reads the run's records, writes both reports next to them and returns their paths. */
export async function writeReports(resultsDir: string, now = new Date()): Promise<ReportPaths> {
  const jobs = await readJobResults(resultsDir);
  const results = await readResultsJson(resultsDir);
  const timeline = await readTimeline(resultsDir);
  const paths = { joblog: join(resultsDir, JOBLOG_TSV), html: join(resultsDir, REPORT_HTML) };
  await writeAtomically(paths.joblog, formatJoblog(listAttempts(jobs)));
  const html = renderHtmlReport({ runId: results?.run_id ?? basename(resultsDir), results, jobs, timeline, generatedAt: now });
  await writeAtomically(paths.html, html);
  return paths;
}
