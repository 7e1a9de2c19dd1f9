/**
 * `timeline.jsonl` in the run's results folder: batch spans, resets, cooldowns and pauses, appended
 * with each batch's records so the HTML report can shade where GPU time went between trials.
 */
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TIMELINE_JSONL, type TimelineEntry } from '../shared/timeline';

export async function appendTimeline(resultsDir: string, entries: TimelineEntry[]): Promise<void> {
  if (entries.length === 0) return;
  await mkdir(resultsDir, { recursive: true });
  await appendFile(join(resultsDir, TIMELINE_JSONL), entries.map((entry) => JSON.stringify(entry) + '\n').join(''));
}

/** Starts a run's timeline afresh: a workflow id used again must not inherit an old run's spans. */
export async function startTimelineFile(resultsDir: string): Promise<void> {
  await mkdir(resultsDir, { recursive: true });
  await writeFile(join(resultsDir, TIMELINE_JSONL), '');
}
