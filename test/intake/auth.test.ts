import { Logger } from '@aws-lambda-powertools/logger';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { useHarmLedger } from '../support/harms.ts';
import { createIntakeHarness, fixture, type IntakeHarness, randomKey } from '../support/intake-harness.ts';

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('intake: authentication', () => {
  let h: IntakeHarness;
  const logs: string[] = [];
  beforeAll(async () => {
    const logger = new Logger({ logLevel: 'DEBUG', serviceName: 'intake' });
    h = await createIntakeHarness({ logger });
  });
  afterAll(async () => {
    await h.close();
  });
  useHarmLedger(() => h?.simulator);

  const connectivity = fixture('seed/connectivity-test.json');

  it.each([
    ['no credential', {}],
    ['a wrong x-api-key', { 'x-api-key': 'wrong-key-wrong-key-wrong' }],
    ['an empty x-api-key', { 'x-api-key': '' }],
    ['a Bearer token', { authorization: 'Bearer something' }],
    ['Basic with a wrong password', { authorization: basic('databricks', 'nope') }],
    ['malformed Basic', { authorization: 'Basic !!!' }],
  ])('answers a bare 401 to %s', async (_name, headers) => {
    // Act
    const res = await h.send({
      method: 'POST',
      path: '/databricks-monitor',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(connectivity),
    });

    // Assess
    expect(res.statusCode).toBe(401);
    expect(res.body).toEqual({ message: 'Unauthorized' });
  });

  it('accepts the current key', async () => {
    // Act
    const res = await h.post(connectivity);

    // Assess
    expect(res.statusCode).toBe(200);
  });

  it('accepts the previous key during rotation', async () => {
    // Act
    const res = await h.post(connectivity, { 'x-api-key': h.keys.previous });

    // Assess
    expect(res.statusCode).toBe(200);
  });

  it('accepts HTTP Basic with the key as password, as a Databricks notification destination sends it', async () => {
    // Act
    const res = await h.send({
      method: 'POST',
      path: '/databricks-monitor',
      headers: { 'Content-Type': 'application/json', Authorization: basic('databricks', h.keys.current) },
      body: JSON.stringify(connectivity),
    });

    // Assess
    expect(res.statusCode).toBe(200);
  });

  it("refuses a Basic username other than the secret's basic_username", async () => {
    // Prepare
    h.setKeys({ ...h.keys, basic_username: 'rca-webhook' });

    // Act
    const wrongUser = await h.send({
      method: 'POST',
      path: '/databricks-monitor',
      headers: { 'content-type': 'application/json', authorization: basic('someone', h.keys.current) },
      body: JSON.stringify(connectivity),
    });
    const rightUser = await h.send({
      method: 'POST',
      path: '/databricks-monitor',
      headers: { 'content-type': 'application/json', authorization: basic('rca-webhook', h.keys.current) },
      body: JSON.stringify(connectivity),
    });
    h.setKeys(h.keys);

    // Assess
    expect(wrongUser.statusCode).toBe(401);
    expect(rightUser.statusCode).toBe(200);
  });

  it('rejects a retired key once rotation completes', async () => {
    // Prepare
    const retired = h.keys.previous;
    h.setKeys({ ...h.keys, current: randomKey(), previous: h.keys.current });

    // Act
    const res = await h.post(connectivity, { 'x-api-key': retired });
    h.setKeys(h.keys);

    // Assess
    expect(res.statusCode).toBe(401);
  });

  it('never writes a key or an Authorization header to a log line', async () => {
    // Prepare
    const writes = [process.stdout, process.stderr].map((stream) =>
      vi.spyOn(stream, 'write').mockImplementation((chunk) => {
        logs.push(String(chunk));
        return true;
      }),
    );
    const spies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((level) =>
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        logs.push(args.map(String).join(' '));
      }),
    );

    // Act
    await h.post(fixture('seed/test1-driver-unreachable.json'));
    await h.post(connectivity, { 'x-api-key': `${h.keys.current}x` });
    await h.send({
      method: 'POST',
      path: '/databricks-monitor',
      headers: { 'content-type': 'application/json', authorization: basic('databricks', h.keys.previous) },
      body: '{"event": "cluster.terminated"}',
    });
    for (const spy of writes) spy.mockRestore();
    for (const spy of spies) spy.mockRestore();

    // Assess
    const output = logs.join('\n');
    expect(output).toContain('failure detected');
    expect(output).toContain('request not authenticated');
    expect(output).toContain('request rejected');
    expect(output).not.toContain(h.keys.current);
    expect(output).not.toContain(h.keys.previous);
    expect(output).not.toContain(Buffer.from(`databricks:${h.keys.previous}`).toString('base64'));
    expect(output.toLowerCase()).not.toContain('authorization');
  });
});
