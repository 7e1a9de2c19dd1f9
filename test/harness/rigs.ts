// Test rigs for rigsweep's integration tests: a thin wrapper around rigs.sh (needs root).
// Rig namespaces are global names (rsw-rig<i>): only one TestRigs may be up at a time on a machine,
// so test files that use it must not run in parallel.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);
const RIGS_SH = path.join(__dirname, 'rigs.sh');

export interface TestRig {
  index: number;
  name: string; // "rig1"; also the rig's hostname
  address: string; // 10.231.0.(10+index), port 22
  netns: string; // "rsw-rig1"
  hostDev: string; // host-side link that cut/restore toggle
  diskDir: string; // this machine's view of the rig's /srv/rigsweep-rig
  workDir: string; // this machine's view of scriptPath
  scriptPath: string; // "/srv/rigsweep-rig/work", as seen on the rig
  callsLog: string; // stand-in call log (this machine's view)
}

export interface TestRigsInfo {
  stateDir: string;
  home: string; // use as $HOME for the tool under test
  user: string; // "rigsweep-rig"
  localWorkDir: string;
  rocmPython: string;
  nvidiaPython: string;
  identityFile: string; // home/.ssh/id_ed25519
  knownHostsFile: string; // home/.ssh/known_hosts (hashed entries)
  standinDir: string; // directory holding the sudo / rocm-smi stand-ins
  rigs: TestRig[];
}

export interface TestRigs extends TestRigsInfo {
  stop(): Promise<void>;
  cut(index: number): Promise<void>;
  restore(index: number): Promise<void>;
}

export interface TrialRecord {
  event: 'start' | 'end';
  argv: string[];
  cwd: string;
  pid: number;
  pgid: number;
  node: string; // rig address (from SSH_CONNECTION) or "localhost"
  client?: string | null; // the SSH client's address: the worker host that started the job (null on localhost)
  gpu_id: string | null;
  env: Record<
    'CUDA_VISIBLE_DEVICES' | 'HIP_VISIBLE_DEVICES' | 'HSA_OVERRIDE_GFX_VERSION' | 'HSA_ENABLE_SDMA' | 'ROCM_PATH' | 'HIP_PATH' | 'PATH' | 'LD_LIBRARY_PATH',
    string | null
  >;
  t: number; // epoch seconds when the line was written
  proc_start?: number; // "start" only: real process start, epoch seconds (10 ms resolution)
  group_start?: number; // "start" only: real start of the job's process group leader (its start command), epoch seconds
  go?: number; // "start" only: when the node's start permit let the job go (RIGSWEEP_STARTED_NS), epoch seconds
  exit_code?: number | null; // "end" only; null when ended by a signal
  signal?: string; // "end" only, when it ended by SIGTERM or --signal-self
  cpu?: number; // "end" only: the trial process's CPU seconds so far, interpreter start-up included
}

/** The result file the fake trial writes where its `--output` (or `--output-file`) says. */
export interface TrialOutput {
  trial_id: string;
  /** Its other `--name value` arguments; a flag without a value is `true`. */
  params: Record<string, string | true>;
  accuracy: number;
  status: string;
  error: string | null;
  hostname: string;
  timestamp: string;
}

export interface StandinCall {
  tool: 'sudo' | 'rocm-smi';
  argv: string[];
  stdin: string | null; // null when the stand-in did not read stdin
  t: number;
}

async function rigsSh(args: string[], timeoutMs: number): Promise<string> {
  try {
    const { stdout } = await execFileP('bash', [RIGS_SH, ...args], {
      timeout: timeoutMs,
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  } catch (err) {
    const e = err as Error & { stderr?: string; stdout?: string };
    throw new Error(`rigs.sh ${args.join(' ')} failed: ${e.message}\n${e.stderr ?? ''}`, { cause: err });
  }
}

export async function startRigs(opts: { count: number; stateDir: string }): Promise<TestRigs> {
  const stateDir = path.resolve(opts.stateDir);
  const stdout = await rigsSh(['up', stateDir, String(opts.count)], 120_000);
  const last = stdout.trim().split('\n').pop() ?? '';
  const info = JSON.parse(last) as TestRigsInfo;
  const link = async (cmd: 'cut' | 'restore', index: number) => {
    await rigsSh([cmd, stateDir, String(index)], 30_000);
  };
  return {
    ...info,
    stop: async () => {
      await rigsSh(['down', stateDir], 60_000);
    },
    cut: (index) => link('cut', index),
    restore: (index) => link('restore', index),
  };
}

function readJsonLines<T>(file: string): T[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as T);
}

/** Lines of <workDir>/trial_record.jsonl written by fake_trial.py ([] if none). */
export function readTrialRecords(workDir: string): TrialRecord[] {
  return readJsonLines<TrialRecord>(path.join(workDir, 'trial_record.jsonl'));
}

/** Calls recorded by the sudo / rocm-smi stand-ins ([] if none). */
export function readCalls(callsLog: string): StandinCall[] {
  return readJsonLines<StandinCall>(callsLog);
}
