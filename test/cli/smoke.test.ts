import { randomBytes } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../lib/cli/main.ts';
import { type LocalHost, startLocalHost } from '../../lib/local/host.ts';

async function run(args: string[]): Promise<{ code: number; stdout: string }> {
  const stdout = new PassThrough();
  const chunks: Buffer[] = [];
  stdout.on('data', (c: Buffer) => chunks.push(c));
  const code = await main(args, { stdin: Readable.from(['']), stdout, stderr: new PassThrough() });
  return { code, stdout: Buffer.concat(chunks).toString() };
}

describe('rca smoke', () => {
  const apiKey = randomBytes(24).toString('hex');
  let host: LocalHost;
  beforeAll(async () => {
    host = await startLocalHost({ port: 0, apiKey, pollIntervalSeconds: 0 });
  }, 60_000);
  afterAll(async () => {
    await host?.close();
  });

  it('passes against a running system and follows a recovery to the closed ticket', async () => {
    // Act
    const { code, stdout } = await run([
      'smoke',
      '--url',
      host.url,
      '--key',
      apiKey,
      '--cluster',
      'test-cluster-123',
      '--wait',
      '45',
      '--operator-key',
      host.operatorKey,
    ]);

    // Assess
    expect(stdout).toContain('ok    ticket resolved: closed');
    expect(stdout).toContain('smoke: 4 passed, 0 failed');
    expect(code).toBe(0);
  }, 60_000);

  it('passes with HTTP Basic as Databricks sends it, and shows its progress while it waits', async () => {
    // Act
    const { code, stdout } = await run([
      'smoke',
      '--url',
      host.url,
      '--key',
      apiKey,
      '--basic-user',
      'databricks',
      '--cluster',
      'test-cluster-456',
      '--wait',
      '45',
      '--operator-key',
      host.operatorKey,
    ]);

    // Assess
    expect(stdout).toContain('ok    wrong Basic username refused: 401');
    expect(stdout).toMatch(/waiting for RCA-\d{8}-\d{3,}: ticket \w+, recovery \w+ \(\d+ s of 45 s\)/);
    expect(stdout).toContain('ok    ticket resolved: closed');
    expect(stdout).toContain('smoke: 5 passed, 0 failed');
    expect(code).toBe(0);
  }, 60_000);

  it('fails with exit 1 when the key is not accepted', async () => {
    // Act
    const { code, stdout } = await run([
      'smoke',
      '--url',
      `${host.url}/databricks-monitor`,
      '--key',
      'not-the-key',
    ]);

    // Assess
    expect(stdout).toContain('FAIL  connectivity test: 401');
    expect(code).toBe(1);
  });

  it('asks for a URL and a key', async () => {
    // Act
    const { code } = await run(['smoke', '--key', apiKey]);

    // Assess
    expect(code).toBe(2);
  });
});
