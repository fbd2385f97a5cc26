import { describe, expect, it } from 'vitest';
import { JsonSyntaxError, parseResponseJson } from '../../functions/core/json.ts';

describe('parseResponseJson', () => {
  it.each([
    ['a safe integer', '{"id": 9007199254740991}', { id: 9007199254740991 }],
    ['a 15-digit integer', '{"id": 123456789012345}', { id: 123456789012345 }],
    ['an unsafe integer, as its exact digits', '{"id": 9007199254740993}', { id: '9007199254740993' }],
    [
      'an unsafe integer next to a safe one',
      '{"a": 1, "b": [12345678901234567890]}',
      { a: 1, b: ['12345678901234567890'] },
    ],
    [
      '16 digits inside a string, unchanged',
      '{"s": "1234567890123456", "n": 2}',
      { s: '1234567890123456', n: 2 },
    ],
    [
      'a long number inside a string between separators, unchanged',
      '{"s": "id: 12345678901234567890, ok", "t": [",12345678901234567890]"]}',
      { s: 'id: 12345678901234567890, ok', t: [',12345678901234567890]'] },
    ],
    ['a 16-digit safe integer, as a number', '{"id": 1234567890123456}', { id: 1234567890123456 }],
    ['a negative unsafe integer', '[-9007199254740993]', ['-9007199254740993']],
    [
      'an escaped quote before a long integer',
      '{"s": "a\\"b", "n": 12345678901234567890}',
      { s: 'a"b', n: '12345678901234567890' },
    ],
    ['an exponent, as a number', '{"e": 1e+1234567890123456}', { e: Number.POSITIVE_INFINITY }],
    ['a large float, as a number', '{"f": 12345678901234567.5}', { f: 12345678901234568 }],
  ])('keeps %s', (_name, text, expected) => {
    // Act
    const parsed = parseResponseJson(text);

    // Assess
    expect(parsed).toEqual(expected);
  });

  it.each([['{"a":'], ['<html>503</html>'], ['']])('rejects %j as not JSON', (text) => {
    // Act
    const parsing = () => parseResponseJson(text);

    // Assess
    expect(parsing).toThrow(JsonSyntaxError);
  });
});
