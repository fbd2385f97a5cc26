import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalHost, startLocalHost } from '../../lib/local/host.ts';
import { startPollerLoop } from '../../lib/local/poller-loop.ts';
import { type RunningSimulator, startSimulator } from '../../lib/simulator/index.ts';
import { runCli } from '../support/cli.ts';

const refusedCases = JSON.parse(
  readFileSync(join(import.meta.dirname, '../fixtures/workspaces/refused.json'), 'utf8'),
) as { args: string[]; code: number; says: string }[];

const cli = runCli;

const LIST = 'GET /api/2.1/clusters/list';

describe('rca workspaces against npm start (real HTTP, DynamoDB Local, simulators)', () => {
  let host: LocalHost;
  let second: RunningSimulator;
  let rca: (args: string[]) => ReturnType<typeof cli>;
  const poll = () => startPollerLoop(host, host.workflow, { intervalSeconds: 0 }).runOnce();

  beforeAll(async () => {
    host = await startLocalHost({ port: 0, pollIntervalSeconds: 0 });
    // A second simulated workspace, as `rca simulator --token <the banner's token>` runs one.
    second = await startSimulator({ token: host.simulator?.token ?? '' });
    rca = (args) => cli([...args, '--url', host.url, '--key', host.operatorKey]);
  }, 120_000);
  afterAll(async () => {
    await second?.close();
    await host?.close();
  });

  it('lists the workspace the deployment (here npm start) seeded', async () => {
    // Act
    const listed = await rca(['workspaces', 'list', '--json']);

    // Assess
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout).workspaces).toEqual([
      expect.objectContaining({
        id: 'default',
        credentialsSecretName: 'local/databricks/default',
        source: 'context',
      }),
    ]);
  });

  it('adds a second workspace after checking it, and the next poll covers it without a restart; removed, it is polled no more', async () => {
    // Prepare
    const before = second.admin.stats().requests[LIST] ?? 0;

    // Act
    const added = await rca([
      'workspaces',
      'add',
      '--id',
      'second',
      '--host',
      second.url,
      '--secret',
      'local/databricks/second',
    ]);
    const checked = await rca(['workspaces', 'check', 'second']);
    const covered = await poll();
    const removed = await rca(['workspaces', 'remove', 'second']);
    const after = await poll();

    // Assess
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(/added workspace second .* the next poll covers it/);
    expect(checked).toMatchObject({ code: 0, stdout: expect.stringMatching(/ok +workspace second:/) });
    expect(covered.workspaces.map((w) => [w.workspaceId, w.status])).toEqual([
      ['default', 'complete'],
      ['second', 'complete'],
    ]);
    expect((second.admin.stats().requests[LIST] ?? 0) - before).toBeGreaterThanOrEqual(2);
    expect(removed.code).toBe(0);
    expect(after.workspaces.map((w) => w.workspaceId)).toEqual(['default']);
  });

  it('registers a workspace that fails its check only with --force, and its failing poll fails alone', async () => {
    // Prepare: a workspace that refuses the secret's token.
    const stranger = await startSimulator({ token: `dapi${'0'.repeat(32)}` });
    const add = (...extra: string[]) =>
      rca([
        'workspaces',
        'add',
        '--id',
        'stranger',
        '--host',
        stranger.url,
        '--secret',
        'local/databricks/stranger',
        ...extra,
      ]);

    // Act
    const refused = await add();
    const forced = await add('--force', '--json');
    const run = await poll();
    await rca(['workspaces', 'remove', 'stranger']);
    await stranger.close();

    // Assess
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/not added: Databricks rejects the token .*add it anyway with force/);
    expect(forced.code).toBe(0);
    expect(JSON.parse(forced.stdout).check).toMatchObject({ ok: false });
    // The Map retried it, caught it into its own result, and the other workspace completed.
    expect(Object.fromEntries(run.workspaces.map((w) => [w.workspaceId, w.status]))).toEqual({
      default: 'complete',
      stranger: 'failed',
    });
  });

  it.each(refusedCases)(
    'refuses $args.1 $args.2 $args.3 with exit $code: $says',
    async ({ args, code, says }) => {
      // Act
      const result = await rca(args);

      // Assess
      expect(result.code).toBe(code);
      expect(result.stderr).toContain(says);
    },
  );
});
