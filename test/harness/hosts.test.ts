// Self-test of the worker-host harness: two hosts on the rigs' bridge, each its own machine to the
// programs in it, reaching the Temporal server and the rigs, and a worker in one running a sweep.
// Needs root.
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { findTemporalCli } from '../../src/cli/dev-server';
import { sweepResult, temporalCli, type CliEnv, type WorkerProcess } from './cli';
import { startHosts, type TestHost, type TestHosts } from './hosts';
import { runProcess } from './run-process';
import { collectRuns, fakeTrialJobs, runFolder, startTestCluster, type TestCluster, waitUntil, writeJobs, writeUserConfig } from './sweep-fixture';

let cluster: TestCluster;
let hosts: TestHosts;
let hostA: TestHost;
let hostB: TestHost;
/** The CLI's environment from this machine, with the server's address for the hosts. */
let env: CliEnv;
let config: string;
const workers: WorkerProcess[] = [];
/** Sleeps' arguments no other process on this machine has: a process left in a host, and one a crashed run left. */
const LEFT_BEHIND = `600.${process.pid}`;
const LEFT_BY_CRASH = `601.${process.pid}`;
/** The holder of a crashed run's host, and a process in it that ignores SIGTERM. */
let leftByCrash: number[];

/** Alive and not a zombie. */
function isRunning(pid: number): boolean {
  try {
    return !/^[ZX]/.test(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]);
  } catch {
    return false;
  }
}

/** Running processes whose command line (NUL-separated) contains `text`. */
function pidsRunning(text: string): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text) && isRunning(pid);
      } catch {
        return false;
      }
    });
}

/** Starts a host `crashed` and a process in it that ignores SIGTERM, as a run that crashed leaves them; returns their pids. */
async function leaveCrashedHost(stateDir: string): Promise<number[]> {
  const up = await runProcess('bash', [join(__dirname, 'hosts.sh'), 'up', stateDir, join(cluster.rigs.home, '.ssh'), 'crashed']);
  expect(up.exitCode, up.stderr).toBe(0);
  const holder = (JSON.parse(up.stdout.trim().split('\n').pop()!) as { hosts: { holderPid: number }[] }).hosts[0].holderPid;
  const inHost = ['-t', String(holder), '-n', '-m', '-u', 'sh', '-c', `nohup sh -c 'trap "" TERM; exec sleep ${LEFT_BY_CRASH}' >/dev/null 2>&1 &`];
  expect((await runProcess('nsenter', inHost)).exitCode).toBe(0);
  await waitUntil("the crashed run's process running", () => pidsRunning(`sleep\0${LEFT_BY_CRASH}`).length === 1, 5_000);
  return [holder, ...pidsRunning(`sleep\0${LEFT_BY_CRASH}`)];
}

beforeAll(async () => {
  cluster = await startTestCluster('hosts', inject('temporalAddress'), { rigCount: 1, rigGpus: 2, stagger: 0 });
  leftByCrash = await leaveCrashedHost(join(cluster.work, 'crashed'));
  hosts = await startHosts({
    names: ['hostA', 'hostB'],
    stateDir: join(cluster.work, 'hosts'),
    rigs: cluster.rigs,
    temporalAddress: inject('temporalAddress'),
  });
  [hostA, hostB] = hosts.hosts;
  env = { ...cluster.env, temporalAddress: hosts.temporalAddress };
  // The rig only: a job on `localhost` would run in the worker's host, which this test does not ask about.
  config = writeUserConfig(cluster.work, 'config.json', { nodes: cluster.configNodes.slice(1) });
});

afterAll(async () => {
  for (const worker of workers) await worker.kill();
  await hosts?.stop();
  await cluster?.rigs.stop();
  if (cluster) rmSync(cluster.work, { recursive: true, force: true });
});

/** Opens a TCP connection to `address` from inside `host`: exit code 0 when it connects within 2 s. */
const connectFrom = async (host: TestHost, address: string) => {
  const [ip, port] = address.split(':');
  return (await host.run('timeout', ['2', 'bash', '-c', `</dev/tcp/${ip}/${port}`])).exitCode;
};

/** A sweep of `jobs` on the test's task queue, started with the `temporal` CLI as a user's script would. */
async function startSweep(id: string, prefix: string, count: number, outputDir: string) {
  const input = {
    jobsFile: writeJobs(cluster.work, `${prefix}jobs.json`, fakeTrialJobs(prefix, count, '0.2')),
    configFile: config,
    outputDir,
    preservePaths: true,
  };
  const started = await temporalCli(
    ['workflow', 'start', '--type', 'trialSweep', '--task-queue', env.taskQueue, '--workflow-id', id, '--input', JSON.stringify(input)],
    env,
  );
  expect(started.exitCode, started.stderr).toBe(0);
}

describe('worker hosts', { timeout: 40_000 }, () => {
  it('clear what a crashed run left: its hosts and every process in them', async () => {
    expect(leftByCrash).toHaveLength(2);
    for (const pid of leftByCrash) expect(isRunning(pid), String(pid)).toBe(false);
    expect((await runProcess('ip', ['netns', 'list'])).stdout.match(/rsw-host\d+/g)?.sort()).toEqual(['rsw-host1', 'rsw-host2']);
  });

  it('are machines of their own: hostname, address, a private folder and $HOME', async () => {
    for (const host of [hostA, hostB]) {
      const seen = await host.run('sh', ['-c', 'hostname; ip -4 -o addr show eth0; echo "$HOME"; ls "$HOME/.ssh"']);
      expect(seen.exitCode, seen.stderr).toBe(0);
      const [hostname, address, home] = seen.stdout.split('\n');
      expect(hostname).toBe(host.name);
      expect(address).toContain(` ${host.address}/24 `);
      expect(home).toBe(host.home);
      expect(seen.stdout).toContain('id_ed25519\nid_ed25519.pub\nknown_hosts\n');
    }
    const marker = join(hostA.resultsDir, 'marker');
    expect((await hostA.run('sh', ['-c', `echo from-hostA > ${marker}`])).exitCode).toBe(0);
    expect((await hostA.run('cat', [marker])).stdout).toBe('from-hostA\n');
    expect((await hostB.run('test', ['-e', marker])).exitCode).toBe(1);
    expect(existsSync(marker)).toBe(false);
    expect(readFileSync(hostA.onDisk(marker), 'utf8')).toBe('from-hostA\n');
    expect(existsSync(hostB.onDisk(marker))).toBe(false);
    expect(() => hostA.onDisk('/tmp/marker')).toThrow(/not in hostA's private folder/);
    // rigsweep's permit folder for jobs on a host's localhost is the host's own too.
    const permit = `/tmp/rigsweep-node/hosts-test-${process.pid}`;
    expect((await hostA.run('touch', [permit])).exitCode).toBe(0);
    expect((await hostB.run('test', ['-e', permit])).exitCode).toBe(1);
    expect(existsSync(permit)).toBe(false);
    expect(existsSync(join(hostA.nodeStateDir, basename(permit)))).toBe(true);
  });

  it('reach the Temporal server through the address they are given, and the rigs with the keys in their $HOME', async () => {
    const cli = findTemporalCli()!;
    const serverPort = inject('temporalAddress').split(':')[1];
    for (const host of [hostA, hostB]) {
      const listed = await host.run(cli, ['operator', 'namespace', 'list', '--address', hosts.temporalAddress]);
      expect(listed.exitCode, listed.stderr).toBe(0);
      expect(listed.stdout).toMatch(/NamespaceInfo\.Name\s+default/);
      // The host's own loopback is not this machine's.
      expect(await connectFrom(host, `127.0.0.1:${serverPort}`)).not.toBe(0);

      const rig = cluster.rigs.rigs[0];
      const sshArgs = ['-F', 'none', '-i', `${host.home}/.ssh/id_ed25519`, '-o', `UserKnownHostsFile=${host.home}/.ssh/known_hosts`];
      const options = ['-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-o', 'ConnectTimeout=3'];
      const login = await host.run('ssh', [...sshArgs, ...options, `${cluster.rigs.user}@${rig.address}`, 'hostname; echo $SSH_CONNECTION']);
      expect(login.exitCode, login.stderr).toBe(0);
      expect(login.stdout).toMatch(new RegExp(`^${rig.name}\\n${host.address.replaceAll('.', '\\.')} \\d+ ${rig.address.replaceAll('.', '\\.')} 22\\n$`));
    }
    // This machine reaches the server at the hosts' address too.
    expect((await temporalCli(['operator', 'namespace', 'list'], env)).exitCode).toBe(0);
  });

  it("run a worker that polls from its host and runs a sweep there, its run folder on the host's disk", async () => {
    const worker = await hostA.startWorker(config, env.taskQueue, { cwd: hostA.resultsDir });
    workers.push(worker);
    // Its identity is pid@hostname: the server sees it poll from hostA.
    await waitUntil(
      'the worker polling as hostA',
      async () => {
        const described = await temporalCli(['task-queue', 'describe', '--task-queue', env.taskQueue, '--output', 'json'], env);
        return described.stdout.includes(`"${worker.pid}@hostA"`);
      },
      10_000,
    );

    const outputDir = join(hostA.resultsDir, 'out');
    await startSweep('hosts-sweep', 'hs_', 2, outputDir);
    expect(await sweepResult(env, 'hosts-sweep')).toMatchObject({ status: 'complete', total_jobs: 2, successful: 2 });
    expect(
      collectRuns(cluster.nodes)
        .filter((run) => run.jobId.startsWith('hs_'))
        .map((run) => [run.node, run.jobId])
        .sort(),
    ).toEqual([
      [cluster.rigs.rigs[0].address, 'hs_0'],
      [cluster.rigs.rigs[0].address, 'hs_1'],
    ]);
    expect(existsSync(join(runFolder(hostA.onDisk(outputDir), 'hosts-sweep'), 'results.jsonl'))).toBe(true);
    expect(existsSync(outputDir)).toBe(false);
    expect(existsSync(hostB.onDisk(outputDir))).toBe(false);
  });

  it('freeze, thaw and kill a worker in a host; stop another', async () => {
    const worker = workers[0];
    const state = () => readFileSync(`/proc/${worker.pid}/stat`, 'utf8').split(') ')[1][0];
    worker.freeze();
    await waitUntil('the worker stopped', () => state() === 'T', 5_000);
    await startSweep('hosts-frozen', 'hf_', 1, join(hostA.resultsDir, 'out'));
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(collectRuns(cluster.nodes).filter((run) => run.jobId.startsWith('hf_'))).toEqual([]);
    worker.thaw();
    expect(await sweepResult(env, 'hosts-frozen')).toMatchObject({ status: 'complete', successful: 1 });

    expect(await worker.kill()).toBe('SIGKILL');
    expect(isRunning(worker.pid)).toBe(false);

    const other = await hostB.startWorker(config, env.taskQueue);
    workers.push(other);
    expect(await other.stop()).toBe(0);
  });

  it('cut and restore a host: it loses the server and comes back', async () => {
    await hostB.cut();
    expect(await connectFrom(hostB, hosts.temporalAddress)).not.toBe(0);
    expect(await connectFrom(hostA, hosts.temporalAddress)).toBe(0);
    await hostB.restore();
    // Its first try may meet the address resolution that failed during the cut: give it a few.
    await waitUntil('hostB reaching the server again', async () => (await connectFrom(hostB, hosts.temporalAddress)) === 0, 10_000);
  });

  it('stop leaves nothing behind', async () => {
    // A process that ignores SIGTERM, left running in a host.
    await hostA.run('sh', ['-c', `nohup sh -c 'trap "" TERM; exec sleep ${LEFT_BEHIND}' >/dev/null 2>&1 &`]);
    await waitUntil('the left-behind process running', () => pidsRunning(`sleep\0${LEFT_BEHIND}`).length === 1, 5_000);
    await hosts.stop();
    expect((await runProcess('ip', ['netns', 'list'])).stdout).not.toMatch(/rsw-host/);
    expect((await runProcess('ip', ['-o', 'link', 'show'])).stdout).not.toMatch(/rsx[hr]\d/);
    expect(pidsRunning(`sleep\0${LEFT_BEHIND}`)).toEqual([]);
    for (const host of hosts.hosts) expect(isRunning(host.holderPid), host.name).toBe(false);
    const [ip, port] = hosts.temporalAddress.split(':');
    expect((await runProcess('timeout', ['2', 'bash', '-c', `</dev/tcp/${ip}/${port}`])).exitCode).not.toBe(0);
  });
});
