/**
 * Perf: a worker process's resident memory over a long sweep, sampled from /proc/<pid>/status
 * together with how many jobs had finished, so growth can be read per job rather than per minute.
 */
import { existsSync, readFileSync } from 'node:fs';

export interface RssSample {
  /** Seconds since sampling began. */
  t: number;
  rssMb: number;
  /** Jobs finished at that moment, as the caller counts them. */
  done: number;
}

export function rssMb(pid: number): number {
  const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  if (!kb) throw new Error(`no VmRSS for process ${pid}`);
  return Number(kb) / 1024;
}

/** Lines of a file that may not exist yet: finished jobs in a results.jsonl. */
export function countLines(file: string | undefined): number {
  if (!file || !existsSync(file)) return 0;
  const text = readFileSync(file);
  let lines = 0;
  for (let at = text.indexOf(10); at >= 0; at = text.indexOf(10, at + 1)) lines += 1;
  return lines;
}

export interface RssSampler {
  /** Takes one more sample now and stops; all samples, oldest first. */
  stop(): RssSample[];
}

/** Samples the process's RSS and `done()` every `everyMs` (2 s) until stopped. */
export function sampleRss(pid: number, done: () => number, everyMs = 2000): RssSampler {
  const started = Date.now();
  const samples: RssSample[] = [];
  const sample = () => samples.push({ t: (Date.now() - started) / 1000, rssMb: rssMb(pid), done: done() });
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return samples;
    },
  };
}

/** The first sample taken once at least `jobs` jobs had finished. */
export function rssAfter(samples: RssSample[], jobs: number): RssSample | undefined {
  return samples.find((sample) => sample.done >= jobs);
}

/** "1k 182, 2k 185, …": RSS (MB) at the first sample past every `step` jobs. */
export function rssByJobs(samples: RssSample[], step: number, total: number): string {
  const points: string[] = [];
  for (let jobs = step; jobs <= total; jobs += step) {
    const at = rssAfter(samples, jobs);
    if (at) points.push(`${jobs >= 1000 ? `${jobs / 1000}k` : jobs} ${at.rssMb.toFixed(0)}`);
  }
  return points.join(', ');
}
