/**
 * `rigsweep demo`: everything on one machine with no setup — a local Temporal dev server (started
 * when none answers), a worker in this process, and a small batched sweep of a bundled demo trial
 * on localhost with four simulated GPUs. Ends by saying where to see the run in Temporal Web.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { quote } from 'shell-quote';
import { portAnswers, startDevServer } from './dev-server';
import { runCommand } from './run-command';
import { temporalSettings } from './temporal';

export function dataDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.RIGSWEEP_HOME || join(homedir(), '.rigsweep'));
}

const DEMO_TRIAL = resolve(__dirname, '..', '..', '..', 'examples', 'demo', 'demo_trial.js');

/** A config shaped like the user's, scaled down: 4 GPUs, batches of 8, short stagger and cooldown. */
export function writeDemoConfig(dir: string): string {
  const work = join(dir, 'work');
  mkdirSync(work, { recursive: true });
  const config = {
    nodes: [{ hostname: 'localhost', username: 'demo', gpu_count: 4, gpu_type: 'simulated', script_path: work, python_env: 'python3', stagger_delay: 0.3 }],
    job_batching: {
      enabled: true,
      max_jobs_per_batch: 8,
      max_jobs_per_node_per_batch: 8,
      inter_batch_cooldown_seconds: 2,
      allocator_reset_between_batches: true,
    },
    trial_command: `${quote([process.execPath, DEMO_TRIAL])} --trial {trial} --output results/trial_{trial_id}.json`,
    trial_output: 'results/trial_{trial_id}.json',
    trial_timeout: 60,
    sieve_defaults: { note: 'sections rigsweep does not use are ignored' },
  };
  const path = join(dir, 'distributed_config.json');
  writeFileSync(path, JSON.stringify(config, null, 2) + '\n');
  return path;
}

export async function demoCommand(flags: { trials: number; verbose?: boolean }): Promise<number> {
  const home = dataDir();
  const settings = temporalSettings();
  const [host, portText] = settings.address.split(':');
  const port = Number(portText || 7233);
  const uiPort = Number(process.env.RIGSWEEP_UI_PORT || port + 1000);
  if (!(await portAnswers(host, port))) {
    process.stderr.write(`no Temporal server at ${settings.address}: starting a dev server (data in ${home})\n`);
    const server = await startDevServer({ dataDir: home, port, uiPort });
    process.stderr.write(`Temporal dev server pid ${server.pid}, log ${server.logFile}; stop it with \`rigsweep server stop\`\n`);
  }
  const demoDir = join(home, 'demo');
  const config = writeDemoConfig(demoDir);
  const workflowId = `rigsweep-demo-${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}`;
  const code = await runCommand({ trials: flags.trials, config, outputDir: join(demoDir, 'results'), workflowId, verbose: flags.verbose });
  process.stderr.write(`\nSee this run in Temporal Web: http://localhost:${uiPort}/namespaces/${settings.namespace}/workflows/${workflowId}\n`);
  return code;
}
