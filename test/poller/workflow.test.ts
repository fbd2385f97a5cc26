/**
 * The poll workflow's isolation, through the real `state-machines/poll.asl.json` on
 * aws-local-stepfunctions: a workspace that fails, throttles or comes too late changes its own
 * result only; the others complete, and the reconciler runs once per run.
 */
import { readFileSync } from 'node:fs';
import { StateMachine } from 'aws-local-stepfunctions';
import { afterEach, describe, expect, it } from 'vitest';
import { loadPollDefinition, POLL_ASL_PATH } from '../../lib/local/poll-workflow.ts';
import { useHarmLedger } from '../support/harms.ts';
import { CLOUD_SHUTDOWN, createPollerHarness, MINUTE, type PollerHarness } from './harness.ts';

const LIST = 'GET /api/2.1/clusters/list';
const WORKSPACES = ['ws-a', 'ws-b', 'ws-c'];

interface AslState {
  readonly Type: string;
  readonly Retry?: readonly { readonly ErrorEquals: readonly string[]; readonly MaxAttempts?: number }[];
  readonly Catch?: readonly { readonly ErrorEquals: readonly string[]; readonly Next: string }[];
  readonly MaxConcurrency?: number;
  readonly ItemProcessor?: { readonly States: Readonly<Record<string, AslState>> };
}
const DEFINITION = JSON.parse(readFileSync(POLL_ASL_PATH, 'utf8')) as { States: Record<string, AslState> };
const MAP = DEFINITION.States.PollWorkspaces;
const TASKS = [
  ...Object.entries(DEFINITION.States),
  ...Object.entries(MAP?.ItemProcessor?.States ?? {}),
].filter(([, state]) => state.Type === 'Task');

describe('the poll workflow definition', () => {
  it('bounds the Map, and gives every Task a retry of Lambda faults and a catch', () => {
    // Assess
    expect(MAP?.MaxConcurrency).toBe(10);
    expect(TASKS.map(([name]) => name).sort()).toEqual(['ListWorkspaces', 'PollWorkspace', 'Reconcile']);
    for (const [, state] of TASKS) {
      expect(state.Retry?.flatMap((r) => r.ErrorEquals)).toContain('Lambda.TooManyRequestsException');
      expect(state.Catch?.map((c) => c.ErrorEquals)).toContainEqual(['States.ALL']);
    }
  });

  it('retries a failed workspace once, by itself, and catches it into its own result', () => {
    // Assess
    const poll = MAP?.ItemProcessor?.States.PollWorkspace;
    expect(poll?.Retry).toContainEqual(
      expect.objectContaining({
        ErrorEquals: expect.arrayContaining(['WorkspacePollFailed']),
        MaxAttempts: 1,
      }),
    );
    expect(poll?.Catch?.[0]?.Next).toBe('WorkspaceFailed');
  });

  it('is a definition aws-local-stepfunctions accepts, with the concurrency the construct sets', () => {
    // Act
    const definition = loadPollDefinition(3) as { States: Record<string, AslState> };

    // Assess
    expect(definition.States.PollWorkspaces?.MaxConcurrency).toBe(3);
    expect(() => new StateMachine(definition as never)).not.toThrow();
  });
});

describe('poll workflow runs', () => {
  let h: PollerHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });
  useHarmLedger(() => h?.simulators());

  it('completes the other workspaces while one answers 5xx: that one is retried, caught and counted, and the reconciler runs once', async () => {
    // Prepare
    h = await createPollerHarness({ workspaces: WORKSPACES });
    h.sim('ws-b').admin.setFaults({ serverErrors: { status: 500 } });
    for (const id of WORKSPACES) h.sim(id).admin.failCluster('0302-110000-victim01', CLOUD_SHUTDOWN);
    h.advance(MINUTE);

    // Act
    const run = await h.pollWorkflow();

    // Assess
    expect(run.status).toBe('SUCCEEDED');
    expect(run.results).toEqual([
      expect.objectContaining({
        workspaceId: 'ws-a',
        status: 'complete',
        ticketsOpened: 1,
        listCalls: expect.any(Number),
      }),
      { workspaceId: 'ws-b', error: expect.objectContaining({ Error: 'WorkspacePollFailed' }) },
      expect.objectContaining({ workspaceId: 'ws-c', status: 'complete', ticketsOpened: 1 }),
    ]);
    expect(run.retries.PollWorkspace).toBe(1);
    expect(run.summary).toMatchObject({ workspaces: 3, complete: 2, failed: 1, ticketsOpened: 2 });
    expect(run.states.filter((state) => state === 'Reconcile')).toHaveLength(1);
    expect(run.metrics.get('WorkspaceErrors')).toBe(1);
    expect(run.metrics.get('WorkspacesPolled')).toBe(2);
    expect((await h.allTickets()).map((t) => t.workspaceId).sort()).toEqual(['ws-a', 'ws-c']);
  });

  it('completes the others while one is throttled, and that one completes too once Databricks lets it', async () => {
    // Prepare
    h = await createPollerHarness({ workspaces: WORKSPACES });
    h.sim('ws-a').admin.setFaults({ throttle: { share: 1, count: 2, retryAfterSeconds: 0 } });
    for (const id of WORKSPACES) h.sim(id).admin.failCluster('0302-110000-victim01', CLOUD_SHUTDOWN);
    h.advance(MINUTE);

    // Act
    const run = await h.pollWorkflow({}, { maxConcurrency: 2 });

    // Assess
    expect(run.results.map((r) => [r.workspaceId, 'status' in r ? r.status : 'caught'])).toEqual([
      ['ws-a', 'complete'],
      ['ws-b', 'complete'],
      ['ws-c', 'complete'],
    ]);
    expect(h.sim('ws-a').admin.stats().requests[LIST]).toBeGreaterThan(
      h.sim('ws-b').admin.stats().requests[LIST] ?? 0,
    );
    expect(await h.allTickets()).toHaveLength(3);
  });

  it('fails the execution when no workspace could be polled, after recording each one', async () => {
    // Prepare
    h = await createPollerHarness({ workspaces: ['ws-a', 'ws-b'] });
    for (const id of ['ws-a', 'ws-b']) h.sim(id).admin.setFaults({ serverErrors: { status: 503 } });

    // Act
    const run = await h.pollWorkflow();

    // Assess
    expect(run.status).toBe('FAILED');
    expect(run.error).toMatch(/PollRunFailed/);
    expect(run.results.map((r) => 'error' in r)).toEqual([true, true]);
    expect(run.states).toContain('RunFailed');
  });

  it('skips, without calling Databricks, a workspace the Map reaches after the run deadline', async () => {
    // Prepare: a period that ends as the run starts (the list step keeps a 20 s margin).
    h = await createPollerHarness({ workspaces: ['ws-a', 'ws-b'] });

    // Act
    const run = await h.pollWorkflow({ periodMs: 20_000 });

    // Assess
    expect(run.status).toBe('SUCCEEDED');
    expect(run.results.map((r) => ['status' in r ? r.status : 'caught', r.workspaceId])).toEqual([
      ['skipped', 'ws-a'],
      ['skipped', 'ws-b'],
    ]);
    expect(run.summary).toMatchObject({ skipped: 2, failed: 0 });
    expect(h.sim('ws-a').admin.stats().requests[LIST] ?? 0).toBe(0);
  });
});
