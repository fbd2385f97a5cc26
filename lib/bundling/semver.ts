/**
 * What the bundles get for `semver` (esbuild alias, see `lib/bundling/esbuild.ts`): the one function the X-Ray
 * SDK calls. Its only caller is the SDK's AWS SDK v2 patcher (`captureAWS`, checking `AWS.VERSION`),
 * which nothing here uses — the functions use SDK v3 — but which the SDK loads with its index. The
 * whole `semver` package is 28 KB of every bundle; this is the comparison it made.
 */

const VERSION = /^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;

/** Compares two prerelease tags by SemVer 2.0 precedence (§11.4): numeric < alphanumeric, then field by field. */
function comparePrerelease(a: string, b: string): number {
  const left = a.split('.');
  const right = b.split('.');
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const x = left[i];
    const y = right[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (x === y) continue;
    const xNumeric = /^\d+$/.test(x);
    const yNumeric = /^\d+$/.test(y);
    if (xNumeric && yNumeric) return Number(x) - Number(y);
    if (xNumeric !== yNumeric) return xNumeric ? -1 : 1;
    return x < y ? -1 : 1;
  }
  return 0;
}

/** `semver.gte(a, b)` for plain versions (`1.2.3`, `1.2.3-rc.1`); throws like semver on anything else. */
export function gte(a: string, b: string): boolean {
  const left = VERSION.exec(String(a).trim());
  const right = VERSION.exec(String(b).trim());
  if (left === null || right === null) throw new TypeError(`Invalid Version: ${left === null ? a : b}`);
  for (let i = 1; i <= 3; i++) {
    const difference = Number(left[i]) - Number(right[i]);
    if (difference !== 0) return difference > 0;
  }
  const [, , , , leftPre] = left;
  const [, , , , rightPre] = right;
  if (leftPre === undefined || rightPre === undefined) return leftPre === undefined;
  return comparePrerelease(leftPre, rightPre) >= 0;
}
