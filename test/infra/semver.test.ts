import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { gte } from '../../lib/bundling/semver.ts';

// The real package, which the bundles no longer carry, as the oracle.
const semver = createRequire(import.meta.url)('semver') as { gte(a: string, b: string): boolean };

describe('the semver the bundles carry', () => {
  it.each([
    ['2.1692.0', '2.7.15'],
    ['2.7.15', '2.7.15'],
    ['2.7.14', '2.7.15'],
    ['1.99.99', '2.0.0'],
    ['3.0.0', '2.99.99'],
    ['2.7.15-rc.1', '2.7.15'],
    ['2.7.15', '2.7.15-rc.1'],
    ['2.7.15-rc.2', '2.7.15-rc.10'],
    ['2.7.15-rc.10', '2.7.15-rc.2'],
    ['2.7.15-alpha', '2.7.15-alpha.1'],
    ['2.7.15-alpha.1', '2.7.15-alpha'],
    ['2.7.15-1', '2.7.15-alpha'],
    ['2.7.15-beta', '2.7.15-alpha'],
    ['v2.8.0', '2.7.15'],
    ['2.7.15+build.5', '2.7.15'],
  ])('compares %s with %s as semver does', (a, b) => {
    // Prepare
    const expected = semver.gte(a, b);

    // Act
    const actual = gte(a, b);

    // Assess
    expect(actual).toBe(expected);
  });

  it.each([['not a version'], ['2.7'], ['']])('refuses %j as semver does', (version) => {
    // Prepare
    const compare = (): boolean => semver.gte(version, '2.7.15');

    // Act
    const ours = (): boolean => gte(version, '2.7.15');

    // Assess
    expect(compare).toThrow(TypeError);
    expect(ours).toThrow(/Invalid Version/);
  });
});
