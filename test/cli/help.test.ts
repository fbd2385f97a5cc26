import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { main } from '../../lib/cli/main.ts';
import packageJson from '../../package.json' with { type: 'json' };

async function run(args: string[]): Promise<{ code: number; stdout: string }> {
  const stdout = new PassThrough();
  const chunks: Buffer[] = [];
  stdout.on('data', (c: Buffer) => chunks.push(c));
  const code = await main(args, { stdin: Readable.from(['']), stdout, stderr: new PassThrough() });
  return { code, stdout: Buffer.concat(chunks).toString() };
}

describe('rca help', () => {
  it.each([
    ['codes'],
    ['smoke'],
    ['classify'],
    ['tickets'],
    ['ticket'],
    ['retry'],
    ['approve'],
    ['deny'],
    ['breakers'],
    ['breaker'],
    ['silence'],
    ['report'],
    ['doctor'],
    ['workspaces'],
    ['simulator'],
  ])('prints the usage of rca %s with --help and exits 0', async (command) => {
    // Act
    const { code, stdout } = await run([command, '--help']);

    // Assess
    expect(stdout).toMatch(new RegExp(`^Usage: rca ${command}`));
    expect(code).toBe(0);
  });

  it.each([['--version'], ['-v']])('prints the package version with %s', async (flag) => {
    // Act
    const { code, stdout } = await run([flag]);

    // Assess
    expect(stdout).toBe(`rca ${packageJson.version}\n`);
    expect(code).toBe(0);
  });
});
