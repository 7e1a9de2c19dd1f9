/**
 * Small text helpers the reports share: escaping for HTML/SVG, numbers that stay short in a file
 * with ten thousand bars, and durations a person reads at a glance.
 */

const XML_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * Safe inside element text and inside double- or single-quoted attributes. Control characters
 * are dropped because XML 1.0 forbids them (the SVG would not parse if saved on its own).
 */
export function escapeXml(text: string): string {
  // eslint-disable-next-line no-control-regex -- XML 1.0 forbids these characters; they are dropped
  return text.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '').replace(/[&<>"']/g, (char) => XML_ENTITIES[char]);
}

/** One decimal at most: coordinates of 10,000 bars would otherwise carry 15 digits each. */
export function coordinate(value: number): string {
  return String(Math.round(value * 10) / 10);
}

/** `42.0 s`, `4 min 05 s`, `1 h 02 min` — the precision a person wants at that scale. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '–';
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const whole = Math.round(seconds);
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const rest = whole % 60;
  if (hours === 0) return `${minutes} min ${String(rest).padStart(2, '0')} s`;
  return `${hours} h ${String(minutes).padStart(2, '0')} min`;
}

/** An axis label relative to the sweep's start: `0:45`, `12:30`, `1:02:00`. */
export function formatClock(seconds: number): string {
  const whole = Math.round(seconds);
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const rest = String(whole % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${rest}` : `${minutes}:${rest}`;
}
