/**
 * Reads jobs from wherever a sweep names them: a SCRIPT JOB SPEC v1.0 file, an inline array, or
 * `trials: N` with the config's `trial_command`. Validates everything up front (so not one trial
 * starts on bad input) and serves batches by index range later.
 */
import { quote } from 'shell-quote';
import { jobListSchema, toSweepJob, type SweepJob } from '../shared/jobs';
import type { JobSource } from '../shared/sweep-plan';
import { trialJobId } from '../shared/templates';
import { describeZodIssues, InputError } from './input-error';
import { readJsonFile } from './read-json';

/** Validates a job list, naming the file (or input) and the job's field on failure. */
export function parseJobList(value: unknown, source: string): SweepJob[] {
  const parsed = jobListSchema.safeParse(value);
  if (!parsed.success) throw new InputError(source, describeZodIssues(parsed.error));
  if (parsed.data.length === 0) throw new InputError(source, ['the job list is empty']);
  return parsed.data.map(toSweepJob);
}

export async function loadJobsFile(path: string): Promise<{ jobs: SweepJob[]; digest: string }> {
  const file = await readJsonFile(path, 'jobs file');
  return { jobs: parseJobList(file.value, path), digest: file.digest };
}

/**
 * A trial_command with arguments appended: each one shell-quoted so it arrives as one word, byte
 * for byte, and its braces doubled so the template renders them literally.
 */
export function withTrialArgs(command: string, extraArgs: string[] = []): string {
  if (extraArgs.length === 0) return command;
  return [command, ...extraArgs.map((arg) => quote([arg]).replace(/[{}]/g, '$&$&'))].join(' ');
}

/** The jobs of a `trials: N` sweep, from index `start` up to `end`. */
export function trialJobs(source: Extract<JobSource, { kind: 'trials' }>, start: number, end: number): SweepJob[] {
  const command = withTrialArgs(source.command, source.extraArgs);
  const jobs: SweepJob[] = [];
  for (let trial = start; trial < end; trial++) {
    jobs.push({ kind: 'trial', job_id: trialJobId(trial), trial, command, expected_output: source.output, timeout: source.timeout });
  }
  return jobs;
}

/** Jobs `start..end` of a sweep's source; a jobs file must still be the one the sweep planned with. */
export async function loadJobRange(source: JobSource, start: number, end: number, inlineJobs?: unknown[]): Promise<SweepJob[]> {
  if (source.kind === 'trials') return trialJobs(source, start, end);
  const jobs = await loadScriptJobs(source, start, end, inlineJobs);
  const extraArgs = source.extraArgs ?? [];
  return extraArgs.length ? jobs.map((job) => (job.kind === 'script' ? { ...job, args: [...job.args, ...extraArgs] } : job)) : jobs;
}

async function loadScriptJobs(source: Exclude<JobSource, { kind: 'trials' }>, start: number, end: number, inlineJobs?: unknown[]): Promise<SweepJob[]> {
  if (source.kind === 'inline') return parseJobList(inlineJobs ?? [], 'workflow input "jobs"');
  const { jobs, digest } = await loadJobsFile(source.path);
  if (digest !== source.digest) {
    throw new InputError(source.path, ['the jobs file changed while the sweep was running; start a new sweep for the new file']);
  }
  return jobs.slice(start, end);
}
