/**
 * The cluster the outcome and start-path tests share: localhost 2 GPUs and two rigs of 2, batches
 * of ≤ 20 with ≤ 6 per node, and a `trial_command` / `trial_output` for sweeps given a trial count.
 */
import { startTestCluster, type TestCluster, writeUserConfig } from './sweep-fixture';

/** A job of the fake trial sleeping 0.2 s (unless `args` say otherwise), with a 60 s timeout. */
export const job = (id: string, args: string[], extra: Record<string, unknown> = {}) => ({
  job_id: id,
  script: 'fake_trial.py',
  args: ['--job', id, '--sleep', '0.2', ...args],
  expected_output: `out/${id}.json`,
  timeout: 60,
  ...extra,
});

export async function startScorerCluster(name: string, temporalAddress: string): Promise<TestCluster & { configFile: string }> {
  const cluster = await startTestCluster(name, temporalAddress, { rigCount: 2, localGpus: 2, rigGpus: 2, stagger: 0.2 });
  const configFile = writeUserConfig(cluster.work, 'distributed_config.json', {
    nodes: cluster.configNodes,
    job_batching: { max_jobs_per_batch: 20, max_jobs_per_node_per_batch: 6, inter_batch_cooldown_seconds: 1 },
    trial_command: 'python3 fake_trial.py --job trial_{trial_id} --sleep 0.1 --output out/{run_id}/trial_{trial_id}.json --node-name {node} --gpu-id {gpu}',
    trial_output: 'out/{run_id}/trial_{trial_id}.json',
  });
  return { ...cluster, configFile };
}
