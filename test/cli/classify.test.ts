import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { main } from '../../lib/cli/main.ts';

const ROOT = join(import.meta.dirname, '../..');
const SEED = join(ROOT, 'test/fixtures/seed');

async function run(args: string[], stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (c: Buffer) => out.push(c));
  stderr.on('data', (c: Buffer) => err.push(c));
  const code = await main(args, { stdin: Readable.from([stdin]), stdout, stderr });
  return { code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}

describe('rca classify', () => {
  it("prints the seed's error type and action for a file", async () => {
    // Act
    const { code, stdout } = await run(['classify', join(SEED, 'test1-driver-unreachable.json')]);

    // Assess
    expect(code).toBe(0);
    expect(JSON.parse(stdout).classification).toMatchObject({
      errorType: 'DatabricksDriverNotResponding',
      action: 'restart_cluster',
    });
  });

  it('reads the payload from stdin', async () => {
    // Act
    const { code, stdout } = await run(['classify'], '{"event": "test"}');

    // Assess
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({
      input: 'connectivity_test',
      classification: { isFailure: false },
    });
  });

  it.each([
    ['malformed JSON', '{"event": ', 'body is not valid JSON'],
    [
      'a wrong field type',
      '{"event":"cluster.terminated","cluster":{"cluster_id":42.5}}',
      'cluster.cluster_id',
    ],
    ['an unknown shape', '{"hello": "world"}', "expected 'event'"],
    ['an empty input', '', 'body is not valid JSON'],
  ])('exits 1 with a message naming the problem for %s', async (_name, input, message) => {
    // Act
    const { code, stdout, stderr } = await run(['classify'], input);

    // Assess
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toContain(message);
  });

  it('exits 1 naming a file it cannot read', async () => {
    // Act
    const { code, stderr } = await run(['classify', '/nonexistent/payload.json']);

    // Assess
    expect(code).toBe(1);
    expect(stderr).toContain('ENOENT');
  });

  it('applies playbook overrides from a file and names a bad key', async () => {
    // Prepare
    const dir = mkdtempSync(join(tmpdir(), 'rca-'));
    const good = join(dir, 'good.json');
    const bad = join(dir, 'bad.json');
    writeFileSync(good, JSON.stringify({ DatabricksResourceExhausted: { action: 'retry_with_backoff' } }));
    writeFileSync(bad, JSON.stringify({ DatabricksResourceExhausted: { max_attempts: 0 } }));
    const payload = join(SEED, 'test2-insufficient-capacity.json');

    // Act
    const ok = await run(['classify', payload, '--playbooks', good]);
    const rejected = await run(['classify', payload, '--playbooks', bad]);

    // Assess
    expect(JSON.parse(ok.stdout).classification.action).toBe('retry_with_backoff');
    expect(rejected.code).toBe(1);
    expect(rejected.stderr).toContain('DatabricksResourceExhausted.max_attempts');
  });

  it.each([
    [['classify', '--bogus'], "unknown option '--bogus'"],
    [['classify', 'a.json', 'b.json'], 'only one FILE'],
    [['frobnicate'], "unknown command 'frobnicate'"],
  ])('exits 2 on bad usage %j', async (args, message) => {
    // Act
    const { code, stderr } = await run(args);

    // Assess
    expect(code).toBe(2);
    expect(stderr).toContain(message);
  });

  it('runs as a real process through the bin entry', async () => {
    // Prepare
    const node = process.execPath;

    // Act
    const { stdout } = await promisify(execFile)(node, [
      join(ROOT, 'bin/rca.ts'),
      'classify',
      join(SEED, 'test2-insufficient-capacity.json'),
    ]);

    // Assess
    expect(JSON.parse(stdout).classification.errorType).toBe('DatabricksResourceExhausted');
  });
});

describe('rca codes', () => {
  it('matches the committed docs/classification.md', async () => {
    // Prepare
    const { readFileSync } = await import('node:fs');
    const committed = readFileSync(join(ROOT, 'docs/classification.md'), 'utf8');

    // Act
    const { code, stdout } = await run(['codes']);

    // Assess
    expect(code).toBe(0);
    expect(stdout).toBe(committed);
  });
});
