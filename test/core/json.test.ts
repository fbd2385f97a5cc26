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
