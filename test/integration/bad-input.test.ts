/**
 * Bad input starts nothing: each broken config or jobs file a user might hand over ends `rigsweep
 * run` with exit 2 and a message naming the file and the field (or the JSON position) at fault, and
 * no trial starts on any node — read back from the nodes' own records. A fault test of `npm run
 * chaos`, summed there into one row.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { NodeConfig } from '../../src/shared/config';
import { reportChaos } from '../harness/chaos-report';
import { readTrialRecords, type TestRigs } from '../harness/rigs';
import { runCli, type CliEnv } from '../harness/cli';
import { startTestCluster, writeJobs, writeUserConfig, type NodeUnderTest } from '../harness/sweep-fixture';

let rigs: TestRigs;
let env: CliEnv;
let work: string;
let nodes: NodeUnderTest[];
let configNodes: NodeConfig[];
let goodConfig: string;

beforeAll(async () => {
  ({ work, rigs, env, nodes, configNodes } = await startTestCluster('badinput', inject('temporalAddress'), {
    rigCount: 1,
    localGpus: 2,
    rigGpus: 2,
    stagger: 0.2,
  }));
  goodConfig = writeUserConfig(work, 'distributed_config.json', { nodes: configNodes });
});

afterAll(async () => {
  await rigs?.stop();
});

const job = (id: string) => ({
  job_id: id,
  script: 'fake_trial.py',
  args: ['--job', id, '--sleep', '0.2', '--output', `out/${id}.json`],
  expected_output: `out/${id}.json`,
});

/** The command that hands over one broken file, and what its message must name: all of `names`. */
interface BrokenInput {
  kind: string;
  write: () => { args: string[]; names: string[] };
}

function brokenConfig(name: string, body: Record<string, unknown>, field: string) {
  const path = writeUserConfig(work, name, body);
  return { args: ['run', '--trials', '3', '--config', path], names: [`${path}: ${field}`] };
}

function brokenJobs(name: string, jobs: unknown[], field: string) {
  const path = writeJobs(work, name, jobs);
  return { args: ['run', '--jobs-file', path, '--preserve-paths', '--config', goodConfig], names: [`${path}: ${field}`] };
}

// Everything else in each file is valid: were its one fault missed, trials would start on the nodes.
const brokenInputs: BrokenInput[] = [
  {
    kind: 'a config value out of range',
    write: () =>
      brokenConfig(
        'bad_value.json',
        { nodes: [configNodes[0], { ...configNodes[1], gpu_count: -2 }], trial_command: 'python3 fake_trial.py --job bad_{trial_id}' },
        'nodes[1].gpu_count:',
      ),
  },
  {
    kind: 'an unknown placeholder in trial_command',
    write: () =>
      brokenConfig(
        'bad_placeholder.json',
        { nodes: configNodes, trial_command: 'python3 fake_trial.py --job bad_{trail}' },
        'trial_command: unknown placeholder {trail}',
      ),
  },
  {
    kind: 'a config that is not JSON (a comma missing)',
    write: () => {
      const path = join(work, 'missing_comma.json');
      writeFileSync(
        path,
        JSON.stringify({ nodes: configNodes, trial_command: 'python3 fake_trial.py --job bad_{trial_id}' }).replace('],"trial_command"', '] "trial_command"'),
      );
      // The "field" of a syntax error is where it is.
      return { args: ['run', '--trials', '3', '--config', path], names: [`${path}: cluster config is not valid JSON`, 'at position'] };
    },
  },
  { kind: 'a duplicate job_id', write: () => brokenJobs('duplicate_id.json', [job('a'), job('a')], '[1].job_id: duplicate job_id "a"') },
  { kind: 'a job without its script', write: () => brokenJobs('no_script.json', [job('b'), { ...job('c'), script: undefined }], '[1].script:') },
  {
    kind: 'a jobs file that is not there',
    write: () => {
      const path = join(work, 'nope.json');
      return { args: ['run', '--jobs-file', path, '--preserve-paths', '--config', goodConfig], names: [`${path}: cannot read jobs file: not found`] };
    },
  },
];

describe('bad input starts nothing', () => {
  // The chaos row: inputs tried, those not answered with exit 2 and their file and field, trials
  // that started anyway on any node over the whole run of them, and the slowest answer.
  const answers: { answered: boolean; seconds: number }[] = [];
  const trialStarts = () => nodes.flatMap((node) => readTrialRecords(node.workDir)).filter((record) => record.event === 'start').length;
  afterAll(() => {
    reportChaos({
      fault: `bad input (${answers.length} broken files)`,
      jobs: answers.length,
      lost: answers.filter((answer) => !answer.answered).length,
      twiceAtOnce: 0,
      orphans: trialStarts(),
      recoverSeconds: Math.max(...answers.map((answer) => answer.seconds)),
    });
  });

  for (const { kind, write } of brokenInputs) {
    it(`${kind}: exit 2, a message naming the file and the field, no trial started`, async () => {
      const { args, names } = write();
      const sentAt = Date.now();
      const run = await runCli(args, env);
      answers.push({ answered: run.exitCode === 2 && names.every((name) => run.stderr.includes(name)), seconds: (Date.now() - sentAt) / 1000 });
      expect(run.exitCode, run.stderr).toBe(2);
      for (const name of names) expect(run.stderr).toContain(name);
      expect(run.stdout).toBe('');
      expect(run.stderr).not.toContain('started sweep');
      expect(trialStarts()).toBe(0);
    });
  }
});
