import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJson } from '../../functions/core/json.ts';
import { fixture } from './support.ts';

const ROOT = join(import.meta.dirname, '../..');
const POOLED = '0101-000001-pooled01';
const STOPPED = '0101-000002-stopped2';
const PIPELINE = '0101-000003-pipelin3';
const HEALTHY = '0101-000004-healthy4';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** `rca simulator --port P --token T --time-scale 0`, the real CLI in its own process. */
describe('rca simulator as a process: the harm ledger', () => {
  const token = `dapi${randomBytes(16).toString('hex')}`;
  let child: ChildProcess;
  let url: string;

  const request = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    // biome-ignore lint/suspicious/noExplicitAny: answers are inspected field by field
    return { status: response.status, body: (text === '' ? undefined : parseJson(text)) as any };
  };

  beforeAll(async () => {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    child = spawn(
      process.execPath,
      [join(ROOT, 'bin/rca.ts'), 'simulator', '--port', String(port), '--token', token, '--time-scale', '0'],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Press Ctrl+C')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`rca simulator exited with ${code}: ${output}`)));
    });
  }, 30_000);
  afterAll(() => {
    child?.kill('SIGTERM');
  });

  it('refuses a node type on a pool cluster, and records a start after a user stop, a start of a pipeline cluster and a restart of a healthy one', async () => {
    // Prepare
    const loaded = await request('POST', '/__admin/scenario?replace=true', fixture('harm-ledger.json'));

    // Act
    const poolUpdate = await request('POST', '/api/2.1/clusters/update', {
      cluster_id: POOLED,
      update_mask: 'node_type_id',
      cluster: { node_type_id: 'i3.2xlarge' },
    });
    const userStopped = await request('POST', '/api/2.1/clusters/start', { cluster_id: STOPPED });
    const pipeline = await request('POST', '/api/2.1/clusters/start', { cluster_id: PIPELINE });
    const healthy = await request('POST', '/api/2.1/clusters/restart', { cluster_id: HEALTHY });
    const ledger = await request('GET', '/__admin/harms');

    // Assess
    expect(loaded).toMatchObject({ status: 200, body: { clusters: 4 } });
    expect(poolUpdate).toMatchObject({
      status: 400,
      body: {
        error_code: 'INVALID_PARAMETER_VALUE',
        message: "The field 'node_type_id' cannot be supplied when an instance pool ID is provided.",
      },
    });
    expect([userStopped.status, pipeline.status, healthy.status]).toEqual([200, 200, 200]);
    expect(ledger.status).toBe(200);
    const recorded = ledger.body.harms.map((h: { rule: string; cluster_id: string; path: string }) => [
      h.rule,
      h.cluster_id,
      h.path,
    ]);
    expect(recorded).toEqual([
      ['start_after_user_termination', STOPPED, '/api/2.1/clusters/start'],
      ['mutate_owned_cluster', PIPELINE, '/api/2.1/clusters/start'],
      ['restart_healthy_cluster', HEALTHY, '/api/2.1/clusters/restart'],
    ]);
    expect((await request('DELETE', '/__admin/harms')).body).toEqual({ harms: [] });
  });
});
