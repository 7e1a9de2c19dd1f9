import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { benchArgs, DEFAULT_ARG_FORMAT, parseArgFormat, parseParamName, parseValueList } from '../../src/cli/bench-args';

function rejection(parse: () => unknown): string {
  try {
    parse();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidArgumentError);
    return (error as Error).message;
  }
  throw new Error('accepted');
}

describe('bench flags', () => {
  it('turns sample_size=350 into the two arguments --sample-size 350 by default', () => {
    expect(benchArgs(DEFAULT_ARG_FORMAT, 'sample_size', '350')).toEqual(['--sample-size', '350']);
  });

  it('follows --arg-format word by word, a value with spaces staying one argument', () => {
    expect(benchArgs('--{param}={value}', 'sample_size', '350')).toEqual(['--sample_size=350']);
    expect(benchArgs('{value}', 'n', 'a b')).toEqual(['a b']);
    expect(benchArgs('-p {{{param}}} {value}', 'n', '$(touch x)')).toEqual(['-p', '{n}', '$(touch x)']);
  });

  it('rejects an --arg-format without {value} or with an unknown placeholder', () => {
    expect(rejection(() => parseArgFormat('--{param_dashed}'))).toMatch(/must contain \{value\}/);
    expect(rejection(() => parseArgFormat('--x {{value}}'))).toMatch(/must contain \{value\}/);
    expect(rejection(() => parseArgFormat('--{name} {value}'))).toMatch(/unknown placeholder \{name\}/);
    expect(parseArgFormat('--{param}={value}')).toBe('--{param}={value}');
  });

  it('reads --values in order and rejects empty or repeated ones', () => {
    expect(parseValueList('350, 450,550')).toEqual(['350', '450', '550']);
    expect(rejection(() => parseValueList('350,,450'))).toMatch(/none empty/);
    expect(rejection(() => parseValueList(''))).toMatch(/none empty/);
    expect(rejection(() => parseValueList('350,450,350'))).toBe('names 350 twice');
  });

  it("takes a parameter name that cannot clash with the table's columns", () => {
    expect(parseParamName('sample_size')).toBe('sample_size');
    expect(rejection(() => parseParamName('--sample-size'))).toMatch(/must be a name/);
    expect(rejection(() => parseParamName('a b'))).toMatch(/must be a name/);
    expect(rejection(() => parseParamName('trials'))).toMatch(/must not be a column/);
  });
});
