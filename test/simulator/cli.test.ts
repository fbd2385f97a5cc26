import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runSimulatorCli } from '../../lib/simulator/cli.ts';

function io() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  return { io: { stdin: new PassThrough(), stdout, stderr }, out: () => out, err: () => err };
}

async function waitFor(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('rca simulator', () => {
  it('starts on the given port, prints its URL and a generated token, serves the demo, and stops', async () => {
    // Prepare
    const console = io();
    let stop: () => void = () => undefined;
    const stopped = new Promise<void>((resolve) => {
      stop = resolve;
    });

    // Act
    const exit = runSimulatorCli(['--port', '0', '--time-scale', '60'], console.io, stopped);
    await waitFor(() => console.out().includes('Press Ctrl+C'));
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(console.out())?.[1];
    const token = /token:\s+(\S+)/.exec(console.out())?.[1];
    const answer = await fetch(`${url}/api/2.1/clusters/get?cluster_id=test-cluster-123`, {
      headers: { authorization: `Bearer ${token}` },
    });
    stop();

    // Assess
    expect(await exit).toBe(0);
    expect(answer.status).toBe(200);
    expect(token).toMatch(/^dapi[0-9a-f]{32}$/);
    expect(console.out()).toContain('time scale: 60');
    expect(console.out()).toContain('Databricks simulator stopped.');
  });

  it.each([
    [['--port', 'abc'], /--port must be an integer/],
    [['--time-scale', 'fast'], /--time-scale must be a number/],
    [['--bogus'], /Unknown option/],
    [['--scenario', '/nonexistent/scenario.json'], /cannot read scenario/],
  ])('fails with a clear message for %j', async (args, message) => {
    // Prepare
    const console = io();

    // Act
    const exit = await runSimulatorCli(args, console.io, Promise.resolve());

    // Assess
    expect(exit).toBeGreaterThan(0);
    expect(console.err()).toMatch(message);
  });
});
