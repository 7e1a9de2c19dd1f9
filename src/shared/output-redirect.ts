/**
 * The seed's run-scoped outputs: without `--preserve-paths`, a job's `expected_output` becomes
 * `<output-dir>/<run_id>/<its file name>` below the node's script_path, and its `--output-file X`
 * (or `--output-file=X`) argument is replaced by that same path — whether X was relative or
 * absolute — so two runs never write over each other's results and the job writes exactly where
 * it is checked. Pure code.
 */
import type { SweepJob } from './jobs';

const FLAG = '--output-file';

const fileName = (path: string) => path.split('/').filter(Boolean).pop() ?? path;

/**
 * The job with its output moved into `nodeRunDir`, file name kept: the file name of
 * `expected_output`, else of the `--output-file` argument. `trial_command` jobs are left alone
 * (their templates place outputs themselves, `{run_id}` included).
 */
export function redirectOutputs(job: SweepJob, nodeRunDir: string): SweepJob {
  if (job.kind !== 'script') return job;
  const flagged = job.args.findIndex((arg, index) => arg.startsWith(`${FLAG}=`) || (arg === FLAG && index + 1 < job.args.length));
  const named =
    job.expected_output ?? (flagged < 0 ? undefined : job.args[flagged] === FLAG ? job.args[flagged + 1] : job.args[flagged].slice(FLAG.length + 1));
  if (named === undefined) return job;
  const moved = `${nodeRunDir.replace(/\/+$/, '')}/${fileName(named)}`;
  const args = job.args.map((arg, index) => {
    if (arg.startsWith(`${FLAG}=`)) return `${FLAG}=${moved}`;
    return index > 0 && job.args[index - 1] === FLAG ? moved : arg;
  });
  return { ...job, args, ...(job.expected_output !== undefined ? { expected_output: moved } : {}) };
}
