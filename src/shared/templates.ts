/**
 * `trial_command` / `trial_output` templates: `{trial}`, `{trial_id}`, `{gpu}`, `{node}`, `{run_id}`,
 * with `{{` and `}}` for literal braces. Parsed once when the config loads, so an unknown
 * placeholder is a configuration error before any trial starts, never a surprise on a rig.
 */

export const TRIAL_PLACEHOLDERS = ['trial', 'trial_id', 'gpu', 'node', 'run_id'] as const;
export type TrialPlaceholder = (typeof TRIAL_PLACEHOLDERS)[number];
/** A node's `warmup_command` runs once per GPU, outside any trial. */
export const WARMUP_PLACEHOLDERS = ['gpu', 'node', 'run_id'] as const;
export type TemplateValues = Record<TrialPlaceholder, string | number>;

type TemplatePart = { text: string } | { name: TrialPlaceholder };
export type ParsedTemplate = { ok: true; parts: TemplatePart[] } | { ok: false; error: string };

/** Splits a template into literal text and placeholders, or says what is wrong with it. */
export function parseTemplate(template: string, allowed: readonly string[] = TRIAL_PLACEHOLDERS): ParsedTemplate {
  const parts: TemplatePart[] = [];
  let text = '';
  for (let i = 0; i < template.length; i++) {
    const ch = template[i];
    const next = template[i + 1];
    if ((ch === '{' && next === '{') || (ch === '}' && next === '}')) {
      text += ch;
      i++;
    } else if (ch === '{') {
      const end = template.indexOf('}', i);
      if (end < 0) return { ok: false, error: `unclosed "{" at position ${i}` };
      const name = template.slice(i + 1, end);
      if (!allowed.includes(name)) {
        return { ok: false, error: `unknown placeholder {${name}} (allowed: ${allowed.map((n) => `{${n}}`).join(', ')}; write {{ and }} for literal braces)` };
      }
      if (text) parts.push({ text });
      text = '';
      parts.push({ name: name as TrialPlaceholder });
      i = end;
    } else if (ch === '}') {
      return { ok: false, error: `single "}" at position ${i} (write }} for a literal brace)` };
    } else {
      text += ch;
    }
  }
  if (text) parts.push({ text });
  return { ok: true, parts };
}

/** Fills a template that already passed validation at config load. */
export function renderTemplate(template: string, values: TemplateValues): string {
  const parsed = parseTemplate(template);
  if (!parsed.ok) throw new Error(`invalid template ${JSON.stringify(template)}: ${parsed.error}`);
  return parsed.parts.map((part) => ('text' in part ? part.text : String(values[part.name]))).join('');
}

/** `{trial_id}`: the trial index zero-padded to 4 digits, as in the seed's `trial_0007.json`. */
export function paddedTrial(trial: number): string {
  return String(trial).padStart(4, '0');
}

/** The job id of trial N of a `trials: N` sweep: `trial_0007`. */
export function trialJobId(trial: number): string {
  return `trial_${paddedTrial(trial)}`;
}
