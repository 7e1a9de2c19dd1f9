/**
 * `rigsweep bench`'s own flags: the parameter, its values, and what one value becomes on every
 * trial's command line. Checked while the flags are parsed, so a bad one exits 2 before anything
 * starts.
 */
import { InvalidArgumentError } from 'commander';
import { parseTemplate } from '../shared/templates';
import { BENCH_ROW_KEYS } from './bench-table';

/** `sample_size` = 350 becomes the two arguments `--sample-size 350`, as argparse spells that option. */
export const DEFAULT_ARG_FORMAT = '--{param_dashed} {value}';
const ARG_PLACEHOLDERS = ['param', 'param_dashed', 'value'];

export function parseParamName(text: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(text)) throw new InvalidArgumentError('must be a name such as sample_size (letters, digits, _ and -)');
  if (BENCH_ROW_KEYS.includes(text)) throw new InvalidArgumentError(`must not be a column of the table (${BENCH_ROW_KEYS.join(', ')})`);
  return text;
}

/** `350,450, 550` → the values in order; empty and repeated values are mistakes. */
export function parseValueList(text: string): string[] {
  const values = text.split(',').map((value) => value.trim());
  if (values.some((value) => value === '')) throw new InvalidArgumentError('must be values separated by commas, none empty (e.g. 350,450,550)');
  const repeated = values.find((value, i) => values.indexOf(value) !== i);
  if (repeated !== undefined) throw new InvalidArgumentError(`names ${repeated} twice`);
  return values;
}

/** Space-separated words, each an argument, with `{param}`, `{param_dashed}` and `{value}` in them. */
function formatWords(format: string) {
  return format
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map((word) => {
      const parsed = parseTemplate(word, ARG_PLACEHOLDERS);
      if (!parsed.ok) throw new InvalidArgumentError(parsed.error);
      return parsed.parts;
    });
}

export function parseArgFormat(text: string): string {
  const words = formatWords(text);
  if (!words.some((parts) => parts.some((part) => 'name' in part && (part.name as string) === 'value'))) {
    throw new InvalidArgumentError('must contain {value} (e.g. "--{param_dashed} {value}" or "--{param}={value}")');
  }
  return text;
}

/** The arguments one value adds to every trial's command line. */
export function benchArgs(format: string, param: string, value: string): string[] {
  const values: Record<string, string> = { param, param_dashed: param.replace(/_/g, '-'), value };
  return formatWords(format).map((parts) => parts.map((part) => ('text' in part ? part.text : values[part.name])).join(''));
}
