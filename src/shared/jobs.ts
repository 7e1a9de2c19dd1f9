/**
 * Jobs: the user's "SCRIPT JOB SPEC v1.0" files, inline job arrays, and `trials: N` sweeps,
 * all brought to one shape the workflow dispatches. Pure code.
 */
import { z } from 'zod';

/** One command-line argument. Python generators sometimes emit numbers; they arrive as their decimal text. */
export const commandArgSchema = z.union([z.string(), z.number().finite(), z.boolean()]).transform(String);

/** One job of a SCRIPT JOB SPEC v1.0 file; extra fields (analysis_type, chunk_file, ...) are kept. */
export const scriptJobSchema = z.looseObject({
  job_id: z.string().min(1),
  script: z.string().min(1),
  args: z.array(commandArgSchema).default([]),
  expected_output: z.string().min(1).optional(),
  timeout: z.number().finite().positive().default(7200),
});
export type ScriptJob = z.infer<typeof scriptJobSchema>;

export const jobListSchema = z.array(scriptJobSchema).superRefine((jobs, ctx) => {
  const seen = new Map<string, number>();
  jobs.forEach((job, index) => {
    const first = seen.get(job.job_id);
    if (first !== undefined) {
      ctx.addIssue({ code: 'custom', path: [index, 'job_id'], message: `duplicate job_id "${job.job_id}" (also [${first}])` });
    } else seen.set(job.job_id, index);
  });
});

/**
 * A job as the workflow hands it to `runJob`: either a script job (run as
 * `<python_env> -u <script> <args...> --gpu-id G`) or a trial of a `trials: N` sweep
 * (a `trial_command` template rendered on the node).
 */
export type SweepJob =
  | { kind: 'script'; job_id: string; script: string; args: string[]; expected_output?: string; timeout: number }
  | { kind: 'trial'; job_id: string; trial: number; command: string; expected_output?: string; timeout: number };

export function toSweepJob(job: ScriptJob): SweepJob {
  return {
    kind: 'script',
    job_id: job.job_id,
    script: job.script,
    args: job.args,
    expected_output: job.expected_output,
    timeout: job.timeout,
  };
}
