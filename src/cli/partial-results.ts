/**
 * A cancelled sweep ends without a result value — Temporal's cancel carries none — but it still
 * writes its partial Results JSON into its results folder, which the sweep's memo names. Read
 * here for `rigsweep run` (Ctrl-C) and `rigsweep cancel`; any other client can read the same file
 * or ask the `results` query.
 */
import { join } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { readResultsJson, RESULTS_JSON } from '../results/run-files';
import type { ResultsJson } from '../shared/results';

export interface PartialResults {
  file: string;
  /** Null when the file is not on this host (the worker that wrote it runs elsewhere). */
  results: ResultsJson | null;
}

export async function partialResults(handle: WorkflowHandle): Promise<PartialResults | null> {
  const description = await handle.describe().catch(() => null);
  const memo = (description?.memo ?? {}) as { results_dir?: unknown };
  if (typeof memo.results_dir !== 'string') return null;
  const file = join(memo.results_dir, RESULTS_JSON);
  const results = await readResultsJson(memo.results_dir).catch(() => null);
  return { file, results };
}
