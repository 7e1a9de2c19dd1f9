/**
 * `rigsweep report <workflow-id>`: (re)writes a sweep's joblog.tsv and report.html into its
 * results folder and prints their paths — for a sweep that is still running, or one whose
 * reports should be drawn again. Runs on the worker host, where the results folder is.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { findRunFolder } from '../inputs/run-folder';
import { writeReports } from '../reports/write-reports';
import { RESULTS_JSON, RESULTS_JSONL } from '../results/run-files';
import { progressQuery } from '../shared/names';
import type { ResultsJson } from '../shared/results';
import { DEFAULT_OUTPUT_DIR } from '../shared/sweep-input';
import { CliError, EXIT } from './exit-codes';
import { handleFor } from './control-commands';

/** A query needs a worker to answer; without one it would wait, so it gets this long. */
const QUERY_DEADLINE_MS = 5000;

/**
 * Where the sweep says its results are: a finished sweep's Results JSON names the folder; a
 * running one says it in its progress; else null.
 */
async function resultsDirFromSweep(handle: WorkflowHandle, status: string, withDeadline: <T>(fn: () => Promise<T>) => Promise<T>): Promise<string | null> {
  if (status === 'COMPLETED') {
    const result = (await handle.result().catch(() => undefined)) as ResultsJson | undefined;
    if (result?.output_dir) return result.output_dir;
  }
  const progress = await withDeadline(() => handle.query(progressQuery, Number.MAX_SAFE_INTEGER)).catch(() => undefined);
  return typeof progress?.resultsDir === 'string' ? progress.resultsDir : null;
}

/**
 * Finds the sweep's results folder — as the sweep says, else the run folder below the output dir
 * that is marked as this sweep's — writes both reports there and prints their paths.
 */
export async function reportCommand(workflowId: string, flags: { outputDir?: string }): Promise<number> {
  const { handle, connection, description } = await handleFor(workflowId);
  let resultsDir: string | null;
  try {
    const withDeadline = <T>(fn: () => Promise<T>) => connection.withDeadline(Date.now() + QUERY_DEADLINE_MS, fn);
    const memo = (description.memo ?? {}) as { results_dir?: unknown };
    resultsDir = typeof memo.results_dir === 'string' ? memo.results_dir : await resultsDirFromSweep(handle, description.status.name, withDeadline);
  } finally {
    await connection.close();
  }
  const outputDir = resolve(flags.outputDir ?? DEFAULT_OUTPUT_DIR);
  resultsDir ??= (await findRunFolder(outputDir, workflowId)) ?? join(outputDir, workflowId);
  if (!existsSync(join(resultsDir, RESULTS_JSONL)) && !existsSync(join(resultsDir, RESULTS_JSON))) {
    throw new CliError(`no results of ${workflowId} in ${resultsDir} yet (run this on the worker host, or give --output-dir)`, EXIT.badInput);
  }
  const paths = await writeReports(resultsDir);
  process.stdout.write(`${paths.joblog}\n${paths.html}\n`);
  return EXIT.ok;
}
