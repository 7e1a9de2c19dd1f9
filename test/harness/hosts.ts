/**
 * Worker hosts for the real-stack tests: several machines on this one, each with its own network
 * (an address on the rigs' bridge), hostname and disk, where rigsweep workers run as on separate
 * machines. A thin wrapper around hosts.sh (needs root, and the rigs up first). Namespace names are
 * global: only one TestHosts may be up at a time on a machine.
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { startWorkerProcess, type WorkerProcess } from './cli';
import type { TestRigs } from './rigs';
import { type ProcessRun, runProcess } from './run-process';
import { startTcpForwarder } from './tcp-forwarder';

const execFileP = promisify(execFile);
const HOSTS_SH = path.join(__dirname, 'hosts.sh');

/** One host as hosts.sh describes it. */
export interface TestHostInfo {
  index: number;
  name: string; // its hostname
  address: string; // 10.231.0.(230+index), on the rigs' bridge
  netns: string; // "rsw-host1"
  hostDev: string; // bridge-side link that cut/restore toggle
  holderPid: number; // the process whose namespaces the host's commands enter
  diskDir: string; // this machine's view of the host's private `mount`
  nodeStateDir: string; // this machine's view of the host's /tmp/rigsweep-node (rigsweep's permits on its localhost)
  mount: string; // "/srv/rigsweep-host": the host's private folder, as the host sees it
  home: string; // its $HOME (mount/home), with the rigs' key, known_hosts and ssh config in .ssh
  resultsDir: string; // mount/results: a private folder for run folders
}

export interface TestHost extends TestHostInfo {
  /** This machine's view of `hostPath`, a path in the host's private folder (throws for any other path). */
  onDisk(hostPath: string): string;
  /** The command prefix that runs a program in the host, in its folder `cwd` (default its $HOME). */
  enter(cwd?: string): string[];
  /**
   * Runs a program in the host to its end, with the host's $HOME and TEMPORAL_ADDRESS set to the
   * server's address for the hosts; `env` adds or overrides variables.
   */
  run(command: string, args: string[], options?: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number }): Promise<ProcessRun>;
  /** `rigsweep worker` in the host on `taskQueue`, once it polls (see `startWorkerProcess`). */
  startWorker(configFile: string, taskQueue: string, options?: { cwd?: string; args?: string[]; env?: NodeJS.ProcessEnv }): Promise<WorkerProcess>;
  /** The host's link goes down: it loses the Temporal server and the rigs, as a cut cable would. */
  cut(): Promise<void>;
  restore(): Promise<void>;
}

export interface TestHosts {
  stateDir: string;
  /** This machine's address on the rigs' bridge. */
  gateway: string;
  /** The Temporal server as the hosts reach it; this machine reaches it there too. */
  temporalAddress: string;
  hosts: TestHost[];
  host(name: string): TestHost;
  /** Kills every process in the hosts, removes their namespaces and links, stops forwarding. */
  stop(): Promise<void>;
}

async function hostsSh(args: string[], timeoutMs: number): Promise<string> {
  try {
    const { stdout } = await execFileP('bash', [HOSTS_SH, ...args], { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`hosts.sh ${args.join(' ')} failed: ${e.message}\n${e.stderr ?? ''}`, { cause: err });
  }
}

/**
 * Starts one host per name, on `rigs`' bridge with copies of the rigs' SSH files in their homes,
 * and a forwarder to the Temporal server at `temporalAddress` (which listens on 127.0.0.1) on this
 * machine's bridge address, where both the hosts and this machine reach it. Tears down a crashed
 * run's hosts first.
 */
export async function startHosts(opts: { names: string[]; stateDir: string; rigs: TestRigs; temporalAddress: string }): Promise<TestHosts> {
  const stateDir = path.resolve(opts.stateDir);
  const stdout = await hostsSh(['up', stateDir, path.join(opts.rigs.home, '.ssh'), ...opts.names], 60_000);
  const info = JSON.parse(stdout.trim().split('\n').pop() ?? '') as { gateway: string; hosts: TestHostInfo[] };
  let forwarder;
  try {
    forwarder = await startTcpForwarder(info.gateway, opts.temporalAddress);
  } catch (err) {
    await hostsSh(['down', stateDir], 60_000);
    throw err;
  }
  const temporalAddress = forwarder.address;
  const hosts = info.hosts.map((host) => testHost(host, stateDir, temporalAddress));
  return {
    stateDir,
    gateway: info.gateway,
    temporalAddress,
    hosts,
    host: (name) => hosts.find((host) => host.name === name) ?? fail(`no host named ${name}`),
    stop: async () => {
      await hostsSh(['down', stateDir], 60_000);
      await forwarder.close();
    },
  };
}

function testHost(info: TestHostInfo, stateDir: string, temporalAddress: string): TestHost {
  // nsenter's --wd opens its folder before it enters the mount namespace: the shell changes to it after.
  const enter = (cwd = info.home) => ['nsenter', '-t', String(info.holderPid), '-n', '-m', '-u', '--', 'sh', '-c', 'cd -- "$0" && exec "$@"', cwd];
  const link = async (cmd: 'cut' | 'restore') => {
    await hostsSh([cmd, stateDir, String(info.index)], 30_000);
  };
  return {
    ...info,
    onDisk: (hostPath) => {
      const relative = path.relative(info.mount, hostPath);
      if (relative.startsWith('..') || path.isAbsolute(relative)) fail(`${hostPath} is not in ${info.name}'s private folder ${info.mount}`);
      return path.join(info.diskDir, relative);
    },
    enter,
    run: (command, args, options = {}) => {
      const env: NodeJS.ProcessEnv = { ...process.env, HOME: info.home, TEMPORAL_ADDRESS: temporalAddress, ...options.env };
      delete env.SSH_CONNECTION;
      delete env.SSH_AUTH_SOCK;
      const [nsenter, ...prefix] = enter(options.cwd);
      return runProcess(nsenter, [...prefix, command, ...args], { env, input: options.input, timeoutMs: options.timeoutMs ?? 60_000 });
    },
    startWorker: (configFile, taskQueue, options = {}) =>
      startWorkerProcess(configFile, { temporalAddress, taskQueue, home: info.home }, options.cwd ?? info.home, { ...options, enter }),
    cut: () => link('cut'),
    restore: () => link('restore'),
  };
}

function fail(message: string): never {
  throw new Error(message);
}
