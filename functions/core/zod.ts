/**
 * zod as the functions use it: the mini API — functions instead of methods (`z.optional(z.string())`),
 * so that a bundle carries only what it calls, about 40 KB of each Lambda bundle where the classic API
 * costs about 95 KB whatever is used — with the English messages. Classic zod loads them by itself;
 * mini does not, and would answer a bare "Invalid input" where every 4xx must name the problem
 * ("expected string, received number"): `englishMessage` below gives them.
 *
 * Import it as `import * as z from '../core/zod.ts'`, never `zod` or `zod/mini` directly (biome.json).
 */

import { config } from 'zod/mini';

/** What zod/v4/locales/en.js sizes strings and arrays in. */
const SIZING: Readonly<Record<string, string>> = { string: 'characters', array: 'items', set: 'items' };

/** The string formats the functions' schemas check (`z.regex`, `z.iso.datetime`, `z.url`). */
const FORMATS: Readonly<Record<string, string>> = { regex: 'input', datetime: 'ISO datetime', url: 'URL' };

/** How zod names what it received (zod/v4/core/util.js `parsedType`, NaN and ±Infinity as en.js shows them). */
function received(input: unknown): string {
  if (typeof input === 'number')
    return Number.isNaN(input) ? 'NaN' : Number.isFinite(input) ? 'number' : String(input);
  if (typeof input !== 'object') return typeof input;
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'array';
  const made = (input as { constructor?: { name?: string } }).constructor;
  return Object.getPrototypeOf(input) !== Object.prototype && made ? String(made.name) : 'object';
}

/** zod's `stringifyPrimitive` and `joinValues`. */
function primitive(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  return typeof value === 'string' ? `"${value}"` : String(value);
}
const joined = (values: readonly unknown[], separator: string) => values.map(primitive).join(separator);

type Issue = Parameters<NonNullable<Parameters<typeof config>[0]>['localeError'] & {}>[0] &
  Record<string, unknown>;

/**
 * zod's English messages (zod/v4/locales/en.js, word for word) for the issues the functions' schemas
 * raise; the locale's names of the ~30 string formats they never check are left out of the bundles.
 */
function englishMessage(issue: Issue): string {
  const sized = (origin: unknown) => SIZING[String(origin)];
  switch (issue.code) {
    case 'invalid_type':
      return `Invalid input: expected ${issue.expected === 'nan' ? 'NaN' : issue.expected}, received ${received(issue.input)}`;
    case 'invalid_value': {
      const values = issue.values as unknown[];
      if (values.length === 1) return `Invalid input: expected ${primitive(values[0])}`;
      return `Invalid option: expected one of ${joined(values, '|')}`;
    }
    case 'too_big':
    case 'too_small': {
      const big = issue.code === 'too_big';
      const adj = issue.exact ? 'exactly ' : issue.inclusive ? (big ? '<=' : '>=') : big ? '<' : '>';
      const bound = String(big ? issue.maximum : issue.minimum);
      const unit = sized(issue.origin);
      const origin = big ? (issue.origin ?? 'value') : issue.origin;
      return `${big ? 'Too big' : 'Too small'}: expected ${origin} to ${unit === undefined ? `be ${adj}${bound}` : `have ${adj}${bound} ${unit}`}`;
    }
    case 'invalid_format':
      if (issue.format === 'regex') return `Invalid string: must match pattern ${issue.pattern}`;
      return `Invalid ${FORMATS[String(issue.format)] ?? issue.format}`;
    case 'not_multiple_of':
      return `Invalid number: must be a multiple of ${issue.divisor}`;
    case 'unrecognized_keys': {
      const keys = issue.keys as string[];
      return `Unrecognized key${keys.length > 1 ? 's' : ''}: ${joined(keys, ', ')}`;
    }
    case 'invalid_union': {
      const options = issue.options as unknown[] | undefined;
      if (Array.isArray(options) && options.length > 0)
        return `Invalid discriminator value. Expected ${options.map((o) => `'${String(o)}'`).join(' | ')}`;
      return issue.inclusive === false ? 'Invalid input: more than one option matched' : 'Invalid input';
    }
    case 'invalid_key':
      return `Invalid key in ${issue.origin}`;
    case 'invalid_element':
      return `Invalid value in ${issue.origin}`;
    default:
      return 'Invalid input';
  }
}

config({ localeError: englishMessage as never });

export * from 'zod/mini';
