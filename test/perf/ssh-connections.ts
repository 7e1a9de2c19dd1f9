/**
 * Perf: how many TCP connections rigsweep holds to each rig while a sweep runs, counted on the
 * rig's side — the established connections to port 22 in the rig's network namespace — and set
 * next to the pool's promise: ceil(concurrent jobs / MaxSessions) + 1.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { TestRigs } from '../harness/rigs';
import { maxOverlap, type TrialRun } from '../harness/sweep-fixture';

/** The test sshd's MaxSessions (rigs.sh writes it into every rig's sshd_config). */
export function maxSessions(rigs: TestRigs): number {
  const config = readFileSync(join(dirname(rigs.rigs[0].diskDir), 'sshd_config'), 'utf8');
  return Number(/^MaxSessions\s+(\d+)/m.exec(config)?.[1] ?? 10);
}

/**
 * Established connections to local port 22 in the namespace of process `pid`, read from its
 * /proc/<pid>/net/tcp — what `ip netns exec rsw-rig<i> ss -Htn state established '( sport = :22 )'`
 * counts, without spawning two processes per rig every half second on a 2-core machine.
 */
export function establishedSsh(pid: number): number {
  const lines = readFileSync(`/proc/${pid}/net/tcp`, 'utf8').trim().split('\n').slice(1);
  // Columns: sl local_address rem_address st ...; port 22 is 0016, ESTABLISHED is 01.
  return lines.map((line) => line.trim().split(/\s+/)).filter(([, local, , state]) => local.endsWith(':0016') && state === '01').length;
}

/** The sshd of each rig: any process in the rig's network namespace would do. */
function sshdPids(rigs: TestRigs): number[] {
  return rigs.rigs.map((rig) => Number(readFileSync(join(dirname(rig.diskDir), 'sshd.pid'), 'utf8').trim()));
}

export interface ConnectionSampler {
  /** Stops sampling (once; later calls return the same): the largest count seen per rig (address → connections) and the samples taken. */
  stop(): { maxByRig: Map<string, number>; samples: number };
}

/** Counts every rig's established SSH connections every `everyMs` until stopped. */
export function sampleSshConnections(rigs: TestRigs, everyMs = 500): ConnectionSampler {
  const pids = sshdPids(rigs);
  const maxByRig = new Map(rigs.rigs.map((rig) => [rig.address, 0]));
  let samples = 0;
  const sample = () => {
    samples += 1;
    rigs.rigs.forEach((rig, i) => maxByRig.set(rig.address, Math.max(maxByRig.get(rig.address)!, establishedSsh(pids[i]))));
  };
  sample();
  const timer = setInterval(sample, everyMs);
  let stopped = false;
  return {
    stop() {
      if (!stopped) {
        clearInterval(timer);
        sample();
        stopped = true;
      }
      return { maxByRig, samples };
    },
  };
}

/**
 * One table cell: per rig, the most connections seen next to the bound, computed from the most
 * jobs that ran at once on that rig (from its trial records); "within" only if every rig was.
 */
export function connectionsCell(rigs: TestRigs, sampled: { maxByRig: Map<string, number>; samples: number }, runs: TrialRun[]): string {
  const sessions = maxSessions(rigs);
  let within = true;
  const perRig = rigs.rigs.map((rig) => {
    const concurrent = maxOverlap(runs.filter((run) => run.node === rig.address));
    const bound = Math.ceil(concurrent / sessions) + 1;
    const seen = sampled.maxByRig.get(rig.address) ?? 0;
    within &&= seen <= bound;
    return `${rig.name} ${seen} ≤ ${bound}${seen <= bound ? '' : ' NO'} (${concurrent} at once)`;
  });
  return `${perRig.join(', ')}; MaxSessions ${sessions}, ${sampled.samples} samples: ${within ? 'met' : 'MISSED'}`;
}
