/**
 * The seed's run-scoped outputs: without `--preserve-paths`, a job's `--output-file` argument (and
 * its `expected_output`, when it names the same file) is redirected into `<output-dir>/<run_id>/`
 * on the node, so two runs never write over each other's results. Pure code.
 */
import type { SweepJob } from './jobs';

const FLAG = '--output-file';

/** `scorer_trial_results/trial_0007.json` → `<nodeRunDir>/trial_0007.json`; absolute paths stay. */
function redirect(path: string, nodeRunDir: string): string {
  if (path.startsWith('/') || path.startsWith('~')) return path;
  return `${nodeRunDir.replace(/\/+$/, '')}/${path.split('/').filter(Boolean).pop() ?? path}`;
}

/** The job with its `--output-file` (relative paths only) moved into `nodeRunDir`, file name kept. */
export function redirectOutputs(job: SweepJob, nodeRunDir: string): SweepJob {
  if (job.kind !== 'script') return job;
  let original: string | undefined;
  const args = job.args.map((arg, index) => {
    if (arg.startsWith(`${FLAG}=`)) {
      original = arg.slice(FLAG.length + 1);
      return `${FLAG}=${redirect(original, nodeRunDir)}`;
    }
    if (index > 0 && job.args[index - 1] === FLAG) {
      original = arg;
      return redirect(arg, nodeRunDir);
    }
    return arg;
  });
  if (original === undefined) return job;
  const expected = job.expected_output === original ? redirect(original, nodeRunDir) : job.expected_output;
  return { ...job, args, expected_output: expected };
}
