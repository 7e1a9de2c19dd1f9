import { describe, expect, it } from 'vitest';
import { renderHtmlReport } from '../../src/reports/html-report';
import type { JobResult } from '../../src/shared/results';
import type { TimelineEntry } from '../../src/shared/timeline';
import { attempt, failedWith, jobRecord, syntheticSweep, T0 } from './synthetic-sweep';

const render = (jobs: JobResult[], timeline: TimelineEntry[] | null = [], results = null) =>
  renderHtmlReport({ runId: 'run-1', results, jobs, timeline, generatedAt: new Date(T0) });
const count = (html: string, pattern: RegExp) => html.match(new RegExp(pattern, 'g'))?.length ?? 0;
const ms = (seconds: number) => T0 + seconds * 1000;

describe('report.html', () => {
  it('escapes job ids and node names: <, & and " never reach the markup raw', () => {
    const nasty = '<img src=x onerror="alert(1)">&amp;';
    const html = render([jobRecord(nasty, 1, [attempt(1, 'rig"<b>', 0, 0, 30)])]);
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<b>');
    expect(html).not.toContain('"alert');
    expect(html).toContain('&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;amp;');
    expect(html).toContain('rig&quot;&lt;b&gt; GPU 0');
  });

  it('draws one bar per attempt, coloured by outcome, with a tooltip naming job, node, GPU, attempt, runtime and failure', () => {
    const html = render([
      jobRecord('ok', 1, [attempt(1, 'localhost', 0, 0, 10)]),
      jobRecord('flaky', 1, [attempt(1, 'localhost', 1, 0, 2, failedWith(3)), attempt(2, 'localhost', 0, 11, 10)]),
      jobRecord('broken', 1, [attempt(1, 'rig', 0, 0, 1, failedWith(4)), attempt(2, 'rig', 1, 2, 1, failedWith(4))]),
      jobRecord('stopped', 1, [attempt(1, 'rig', 0, 3, 4, { failure_mode: 'CANCELLED', exit_code: null })]),
    ]);
    expect(count(html, /<rect class="bar /)).toBe(6);
    expect([
      count(html, /class="bar success"/),
      count(html, /class="bar retried"/),
      count(html, /class="bar failed"/),
      count(html, /class="bar cancelled"/),
    ]).toEqual([2, 1, 2, 1]);
    expect(html).toContain('<title>flaky, attempt 1\nlocalhost GPU 1, batch 1\nstarted at 0:00, ran 2.0 s\nEXIT_CODE: exit code 3</title>');
    for (const lane of ['localhost GPU 0', 'localhost GPU 1', 'rig GPU 0', 'rig GPU 1']) expect(html).toContain(`>${lane}</text>`);
  });

  it('names a bar with its job id, cut with an ellipsis when the bar is short', () => {
    const html = render([
      jobRecord('a_rather_long_job_id_that_cannot_fit', 1, [attempt(1, 'localhost', 0, 0, 4)]),
      jobRecord('short', 1, [attempt(1, 'localhost', 1, 0, 20)]),
    ]);
    expect(html).toMatch(/<text class="bar-label success" [^>]*>a_rather[a-z_]*…<\/text>/);
    expect(html).toMatch(/<text class="bar-label success" [^>]*>short<\/text>/);
  });

  it('links every failed attempt to the next attempt of the same job', () => {
    const html = render([
      jobRecord('flaky', 1, [attempt(1, 'localhost', 1, 0, 2, failedWith(3)), attempt(2, 'localhost', 0, 5, 10)]),
      jobRecord('thrice', 1, [attempt(1, 'rig', 0, 1, 1, failedWith(4)), attempt(2, 'rig', 1, 3, 1, failedWith(4)), attempt(3, 'rig', 0, 6, 1, failedWith(4))]),
      jobRecord('once', 1, [attempt(1, 'rig', 1, 0, 1)]),
    ]);
    // Seq in start order (ties by job id): flaky#1 1, once 2, thrice#1 3, thrice#2 4, flaky#2 5, thrice#3 6.
    const links = [...html.matchAll(/<path class="retry" data-from="(\d+)" data-to="(\d+)"/g)].map((m) => [Number(m[1]), Number(m[2])]);
    expect(links).toEqual([
      [1, 5],
      [3, 4],
      [4, 6],
    ]);
    expect(html).toContain('marker-end="url(#retry-arrow)"');
  });

  it("shades batches, resets (over their node's lanes only), cooldowns and pauses from timeline.jsonl, with labels", () => {
    const jobs = [
      jobRecord('a', 1, [attempt(1, 'localhost', 0, 0, 10)]),
      jobRecord('b', 2, [attempt(1, 'rig', 0, 40, 10)]),
      jobRecord('c', 2, [attempt(1, 'rig', 1, 40, 10)]),
    ];
    const timeline: TimelineEntry[] = [
      { kind: 'batch', batch: 1, start_ms: ms(0), end_ms: ms(10) },
      { kind: 'reset', batch: 2, node: 'rig', start_ms: ms(10), end_ms: ms(12), ok: false },
      { kind: 'cooldown', batch: 2, start_ms: ms(12), end_ms: ms(22) },
      { kind: 'pause', batch: 2, start_ms: ms(22), end_ms: ms(39) },
      { kind: 'batch', batch: 2, start_ms: ms(40), end_ms: ms(50) },
    ];
    const html = render(jobs, timeline);
    expect(count(html, /<rect class="band batch/)).toBe(2);
    expect(html).toMatch(
      /<rect class="band reset failed" x="[\d.]+" y="60" width="[\d.]+" height="40"><title>reset failed on rig: 0:10 to 0:12 \(2\.0 s\)<\/title>/,
    );
    expect(html).toMatch(/<rect class="band cooldown" x="[\d.]+" y="40" width="[\d.]+" height="60">/);
    expect(count(html, /<rect class="band pause"/)).toBe(1);
    for (const label of ['batch 1', 'batch 2', 'cooldown', 'paused']) expect(html).toContain(`">${label}</text>`);
    expect(html).toContain('class="legend"');
  });

  it('still renders without timeline.jsonl, and says so', () => {
    const html = render([jobRecord('a', 1, [attempt(1, 'localhost', 0, 0, 10)])], null);
    expect(count(html, /class="band /)).toBe(0);
    expect(count(html, /<rect class="bar /)).toBe(1);
    expect(html).toContain('No timeline.jsonl');
  });

  it('is self-contained: no script, stylesheet, image or font is fetched, no URL at all', () => {
    const sweep = syntheticSweep(200);
    const html = renderHtmlReport({ runId: 'r', results: sweep.results, jobs: sweep.jobs, timeline: sweep.timeline, generatedAt: new Date(T0) });
    expect(html).not.toMatch(/\b(src|href)\s*=/i);
    expect(html).not.toMatch(/https?:\/\//i);
    expect(html).not.toMatch(/<(script|link|img|iframe)\b|@import|url\((?!#)/i);
  });

  it('shows the summary: run id, status, jobs, successful / failed, runtime and trials per minute', () => {
    const sweep = syntheticSweep(60);
    const html = renderHtmlReport({ runId: 'synthetic-run', results: sweep.results, jobs: sweep.jobs, timeline: sweep.timeline, generatedAt: new Date(T0) });
    const field = (label: string) => new RegExp(`<dt>${label}</dt><dd[^>]*>([^<]*)</dd>`).exec(html)?.[1];
    expect([field('run id'), field('status'), field('jobs'), field('successful'), field('failed')]).toEqual(['synthetic-run', 'partial', '60', '59', '1']);
    expect(field('runtime')).toBe('52.2 s');
    expect(field('trials/min')).toBe(((60 / 52.2) * 60).toFixed(1));
  });

  it('renders 10,000 jobs as bars without per-bar labels, in a file of sensible size', () => {
    const sweep = syntheticSweep(10_000);
    const attempts = sweep.jobs.reduce((sum, job) => sum + job.attempts.length, 0);
    const started = Date.now();
    const html = renderHtmlReport({ runId: 'big', results: sweep.results, jobs: sweep.jobs, timeline: sweep.timeline, generatedAt: new Date(T0) });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(count(html, /<rect class="bar /)).toBe(attempts);
    expect(count(html, /class="bar-label/)).toBe(0);
    expect(html.length).toBeLessThan(4 * 1024 * 1024);
    // Band labels are thinned so that they never overlap, yet some batches stay named.
    expect(count(html, /class="band-label batch"/)).toBeGreaterThan(10);
    expect(count(html, /class="band-label batch"/)).toBeLessThan(500);
  });
});
