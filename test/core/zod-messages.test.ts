/**
 * The functions' zod (functions/core/zod.ts) answers with zod's own English messages
 * (zod/v4/locales/en.js) for every kind of issue their schemas raise, word for word: a 4xx names the
 * problem the same way whichever of the two wrote it.
 */
import { describe, expect, it } from 'vitest';
import { config, type ZodMiniType } from 'zod/mini';
import en from 'zod/v4/locales/en.js';
import * as z from '../../functions/core/zod.ts';

/** The messages of parsing `input` with `schema`, under the locale in force. */
function messages(schema: ZodMiniType, input: unknown): string[] {
  const result = schema.safeParse(input);
  return result.success ? [] : result.error.issues.map((issue) => issue.message);
}

/** The same parse under zod's English locale, then the functions' messages restored. */
function zodEnglish(schema: ZodMiniType, input: unknown): string[] {
  // `config()` answers the global configuration itself, which `config(en())` changes: keep the function.
  const { localeError } = z.config();
  config(en());
  try {
    return messages(schema, input);
  } finally {
    config({ localeError });
  }
}

describe("the functions' zod messages", () => {
  it.each<[string, ZodMiniType, unknown]>([
    ['a wrong type', z.string(), 42],
    ['a missing field', z.object({ id: z.string() }), {}],
    ['NaN for a number', z.number(), Number.NaN],
    ['an array for an object', z.object({}), []],
    ['null for a string', z.string(), null],
    ['a literal', z.literal('cluster'), 'job'],
    ['an enum', z.enum(['a', 'b', 'c']), 'd'],
    ['a string too short', z.string().check(z.minLength(3)), 'ab'],
    ['a string too long', z.string().check(z.maxLength(2)), 'abc'],
    ['an array too long', z.array(z.string()).check(z.maxLength(1)), ['a', 'b']],
    ['an array too short', z.array(z.string()).check(z.minLength(1)), []],
    ['a number too small', z.number().check(z.gte(1)), 0],
    ['a number too big (exclusive)', z.number().check(z.lt(5)), 5],
    ['a number too big', z.number().check(z.lte(5)), 6],
    ['a positive number', z.number().check(z.positive()), 0],
    ['an integer', z.number().check(z.int()), 1.5],
    ['a pattern', z.string().check(z.regex(/^RCA-\d+$/)), 'x'],
    ['an ISO datetime', z.iso.datetime(), 'yesterday'],
    ['a URL', z.url(), 'not a url'],
    ['unknown keys', z.strictObject({ a: z.string() }), { a: 'x', b: 1, c: 2 }],
    ['one unknown key', z.strictObject({ a: z.string() }), { a: 'x', b: 1 }],
    ['a union', z.union([z.string(), z.number()]), true],
    [
      'a discriminated union',
      z.discriminatedUnion('step', [z.object({ step: z.literal('a') }), z.object({ step: z.literal('b') })]),
      { step: 'c' },
    ],
    ['a record key', z.record(z.enum(['a']), z.string()), { b: 'x' }],
    ['a multiple of', z.number().check(z.multipleOf(5)), 7],
    ['a refinement', z.string().check(z.refine((s) => s.length === 2)), 'abc'],
    ['a Date for a string', z.string(), new Date(0)],
    ['Infinity for a string', z.string(), Number.POSITIVE_INFINITY],
    ['a bigint literal', z.literal(5n), 6n],
    ['one of several literals', z.literal(['x', 'y']), 'z'],
  ])('names %s as zod does', (_what, schema, input) => {
    // Act
    const ours = messages(schema, input);

    // Assess
    expect(ours.length).toBeGreaterThan(0);
    expect(ours).toEqual(zodEnglish(schema, input));
  });
});
