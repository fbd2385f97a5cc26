import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clusterScope, errorTypeScope } from '../../functions/core/breaker.ts';
import { ERROR_TYPES } from '../../functions/core/error-types.ts';
import { type ExecutionDescription, executionNameFor } from '../../functions/core/incident.ts';
import { loadPlaybooks } from '../../functions/core/playbooks.ts';
import { resolvePollerOptions } from '../../functions/poller/config.ts';
import { SilenceRepository } from '../../functions/store/silences.ts';
import { RecordingWorkflowStarter } from '../../lib/local/recording-workflow.ts';
import { useHarmLedger } from '../support/harms.ts';
import { CLOUD_SHUTDOWN, createPollerHarness, MINUTE, type PollerHarness } from './harness.ts';

const VICTIM = '0302-110000-victim01';
const SHADOW_PLAYBOOKS = loadPlaybooks(
  Object.fromEntries(ERROR_TYPES.map((type) => [type, { mode: 'shadow' }])),
);

describe('poller reconciler', () => {
  let h: PollerHarness;
  beforeEach(async () => {
    h = await createPollerHarness();
    await h.poll();
    h.sim().admin.failCluster(VICTIM, CLOUD_SHUTDOWN);
    h.advance(MINUTE);
  });
  afterEach(async () => {
    await h?.close();
  });
  useHarmLedger(() => h?.simulators());

  /** The one ticket of the test, as stored. */
  async function theTicket() {
    const [ticket] = await h.allTickets();
    if (ticket === undefined) throw new Error('no ticket');
    return ticket;
  }

  it('starts on the next run a workflow whose StartExecution failed, with the input the intake would have sent', async () => {
    // Prepare
    h.workflow.failNext = 1;
    const first = await h.poll();
    const pending = await theTicket();
    h.advance(3 * MINUTE);

    // Act
    const second = await h.poll();

    // Assess
    expect(first.report.workspaces[0]?.outcomes.error).toBe(1);
    expect(pending).toMatchObject({ status: 'open', recoveryStatus: 'start_pending' });
    expect(second.report.reconcile).toMatchObject({ started: 1, startFailures: 0 });
    expect(second.metrics.get('ReconciledStarts')).toBe(1);
    expect(await theTicket()).toMatchObject({
      status: 'in_progress',
      recoveryStatus: 'in_progress',
      executionName: pending.ticketId,
    });
    expect(h.workflow.starts).toHaveLength(1);
    expect(h.workflow.starts[0]).toMatchObject({
      name: pending.ticketId,
      input: {
        ticketId: pending.ticketId,
        workspaceId: 'ws-a',
        clusterId: VICTIM,
        errorType: pending.errorType,
        action: pending.action,
        signal: { incidentKey: pending.incidentKey, source: 'poller', kind: 'termination' },
        playbook: { action: pending.action, mode: 'active' },
      },
    });
    const audit = (await h.tickets.getTicket(pending.ticketId))?.audit.map((entry) => entry.event);
    // The second poll saw the same failure again: a repeat of what the ticket knows, not written.
    expect(audit).toEqual(['ticket_opened', 'workflow_started']);
  });

  it('leaves a start_pending ticket younger than the grace period to its intake', async () => {
    // Prepare
    h.workflow.failNext = 1;
    await h.poll();

    // Act
    const again = await h.poll();

    // Assess
    expect(again.report.reconcile?.started).toBe(0);
    expect(await theTicket()).toMatchObject({ recoveryStatus: 'start_pending' });
  });

  it('keeps a ticket start_pending while StartExecution keeps failing', async () => {
    // Prepare
    h.workflow.failNext = 2;
    await h.poll();
    h.advance(3 * MINUTE);

    // Act
    const second = await h.poll();

    // Assess
    expect(second.report.reconcile).toMatchObject({ started: 0, startFailures: 1 });
    expect(second.metrics.get('ReconcileStartFailures')).toBe(1);
    expect(await theTicket()).toMatchObject({ status: 'open', recoveryStatus: 'start_pending' });
  });

  it('escalates a start_pending ticket instead of starting it when a breaker has opened meanwhile', async () => {
    // Prepare
    h.workflow.failNext = 1;
    await h.poll();
    await h.breakers.forceOpen(clusterScope('ws-a', VICTIM), 'maintenance window');
    h.advance(3 * MINUTE);

    // Act
    const second = await h.poll();

    // Assess
    expect(second.report.reconcile).toMatchObject({ started: 0, escalatedBeforeStart: 1 });
    expect(await theTicket()).toMatchObject({ status: 'escalated', recoveryStatus: 'blocked' });
    expect(h.workflow.starts).toEqual([]);
  });

  it.each<[string, number, Record<string, number>, Record<string, unknown>, number]>([
    [
      'escalates a start_pending ticket instead of starting it when a silence came into force meanwhile',
      60 * MINUTE,
      { started: 0, escalatedBeforeStart: 1 },
      {
        status: 'escalated',
        recoveryStatus: 'silenced_while_waiting',
        escalationReason: expect.stringContaining(`cluster ${VICTIM}`),
      },
      0,
    ],
    [
      'starts a start_pending ticket whose silence has ended',
      MINUTE,
      { started: 1, escalatedBeforeStart: 0 },
      { status: 'in_progress', recoveryStatus: 'in_progress' },
      1,
    ],
  ])('%s', async (_name, silencedFor, expectedReport, expectedTicket, starts) => {
    // Prepare
    h.workflow.failNext = 1;
    await h.poll();
    const silences = new SilenceRepository({
      client: h.table.documentClient,
      tableName: h.table.tableName,
      clock: h.clock,
    });
    await silences.add({
      clusterId: VICTIM,
      until: h.clock() + silencedFor,
      reason: 'vendor is patching this cluster',
      createdBy: 'on-call',
    });
    h.advance(3 * MINUTE);

    // Act
    const second = await h.poll({ silences });

    // Assess
    expect(second.report.reconcile).toMatchObject(expectedReport);
    expect(await theTicket()).toMatchObject(expectedTicket);
    expect(h.workflow.starts).toHaveLength(starts);
  });

  it.each<[string, ExecutionDescription, Record<string, unknown>, number]>([
    [
      'FAILED',
      { status: 'FAILED', error: 'States.TaskFailed', cause: 'clusters/restart answered INVALID_STATE' },
      {
        status: 'escalated',
        recoveryStatus: 'failed',
        escalationReason:
          'The recovery workflow ended FAILED (States.TaskFailed: clusters/restart answered INVALID_STATE)',
      },
      1,
    ],
    [
      'TIMED_OUT',
      { status: 'TIMED_OUT', error: 'States.Timeout' },
      { status: 'escalated', recoveryStatus: 'timed_out' },
      1,
    ],
    ['ABORTED', { status: 'ABORTED' }, { status: 'escalated', recoveryStatus: 'aborted' }, 1],
    [
      'SUCCEEDED, its Close step reporting the ticket closed',
      {
        status: 'SUCCEEDED',
        output: { status: 'closed', outcome: 'recovered', attempts: 1, breakerChanges: [] },
      },
      { status: 'closed', recoveryStatus: 'recovered' },
      0,
    ],
    [
      'SUCCEEDED, its Escalate step reporting the ticket escalated',
      {
        status: 'SUCCEEDED',
        output: { status: 'escalated', outcome: 'escalated', attempts: 3, reason: 'three attempts failed' },
      },
      { status: 'escalated', recoveryStatus: 'unconfirmed', escalationReason: 'three attempts failed' },
      0,
    ],
    [
      'SUCCEEDED without saying how',
      { status: 'SUCCEEDED', output: {} },
      { status: 'escalated', recoveryStatus: 'unconfirmed' },
      0,
    ],
    ['RUNNING', { status: 'RUNNING' }, { status: 'in_progress', recoveryStatus: 'in_progress' }, 0],
  ])(
    'settles an in_progress ticket whose execution is %s',
    async (_label, execution, expected, breakerFailures) => {
      // Prepare
      await h.poll();
      const ticket = await theTicket();
      h.workflow.outcomes.set(ticket.executionName ?? '', execution);
      h.advance(3 * MINUTE);

      // Act
      const second = await h.poll();

      // Assess
      expect(await theTicket()).toMatchObject(expected);
      expect(second.report.reconcile?.executionsChecked).toBe(1);
      const breaker = await h.breakers.get(clusterScope('ws-a', VICTIM));
      expect(breaker?.recentFailures ?? []).toHaveLength(breakerFailures);
      const typeBreaker = await h.breakers.get(errorTypeScope(ticket.errorType));
      expect(typeBreaker?.recentFailures ?? []).toHaveLength(breakerFailures);
    },
  );

  it('escalates an in_progress ticket whose execution no longer exists', async () => {
    // Prepare
    await h.poll();
    h.advance(3 * MINUTE);

    // Act
    await h.poll({ workflow: new RecordingWorkflowStarter() });

    // Assess
    expect(await theTicket()).toMatchObject({
      status: 'escalated',
      recoveryStatus: 'execution_missing',
      escalationReason: expect.stringContaining('no longer exists'),
    });
  });

  /**
   * Makes the next recovery of the victim its cluster breaker's half-open probe: the breaker was
   * opened and its cool-down has just ended.
   */
  async function nextRecoveryIsTheProbe() {
    await h.breakers.forceOpen(clusterScope('ws-a', VICTIM), 'earlier failures', h.clock());
  }

  it('gives back the probe of a shadow-mode recovery that ended FAILED instead of counting a failure', async () => {
    // Prepare
    await nextRecoveryIsTheProbe();
    await h.poll({ playbooks: SHADOW_PLAYBOOKS });
    const ticket = await theTicket();
    h.workflow.outcomes.set(ticket.executionName ?? '', { status: 'FAILED', error: 'States.TaskFailed' });
    h.advance(3 * MINUTE);

    // Act
    await h.poll({ playbooks: SHADOW_PLAYBOOKS });

    // Assess
    expect(ticket).toMatchObject({ status: 'in_progress', recoveryStatus: 'shadow' });
    expect(await theTicket()).toMatchObject({ status: 'escalated' });
    const breaker = await h.breakers.get(clusterScope('ws-a', VICTIM));
    expect(breaker).toMatchObject({ state: 'half_open' });
    expect(breaker?.probe).toBeUndefined();
    expect((await h.breakers.get(errorTypeScope(ticket.errorType)))?.recentFailures ?? []).toEqual([]);
  });

  it.each<
    [string, 'in_progress' | 'start_pending', (ticketId: string) => Parameters<PollerHarness['poll']>[0]]
  >([
    [
      'unconfirmed',
      'in_progress',
      (ticketId) => {
        h.workflow.outcomes.set(ticketId, { status: 'SUCCEEDED', output: {} });
        return {};
      },
    ],
    ['execution_missing', 'in_progress', () => ({ workflow: new RecordingWorkflowStarter() })],
    ['disabled (held)', 'start_pending', () => ({ autoRemediationEnabled: false })],
    [
      'disabled (playbook)',
      'start_pending',
      () => ({
        playbooks: loadPlaybooks(Object.fromEntries(ERROR_TYPES.map((type) => [type, { enabled: false }]))),
      }),
    ],
  ])(
    'gives back the probe a ticket holds when it settles it as %s',
    async (recoveryStatus, startAs, overrides) => {
      // Prepare
      await nextRecoveryIsTheProbe();
      if (startAs === 'start_pending') h.workflow.failNext = 1;
      await h.poll();
      const ticket = await theTicket();
      const probeBefore = (await h.breakers.get(clusterScope('ws-a', VICTIM)))?.probe;
      h.advance(3 * MINUTE);

      // Act
      await h.poll(overrides(ticket.ticketId));

      // Assess
      expect(probeBefore?.ticketId).toBe(ticket.ticketId);
      expect(await theTicket()).toMatchObject({ recoveryStatus: recoveryStatus.split(' ')[0] });
      const breaker = await h.breakers.get(clusterScope('ws-a', VICTIM));
      expect(breaker).toMatchObject({ state: 'half_open' });
      expect(breaker?.probe).toBeUndefined();
    },
  );

  it('settles an in_progress ticket without an execution name by the name its ticket id gives', async () => {
    // Prepare
    h.workflow.failNext = 1;
    await h.poll();
    const pending = await theTicket();
    // The workflow moved the ticket itself; the intake never wrote the execution name.
    await h.tickets.transition(pending.ticketId, {
      from: ['open'],
      to: 'in_progress',
      patch: { recoveryStatus: 'in_progress' },
      audit: { event: 'remediation_started', actor: 'workflow' },
    });
    const described: string[] = [];
    const workflow = {
      start: h.workflow.start.bind(h.workflow),
      describe: async (name: string): Promise<ExecutionDescription> => {
        described.push(name);
        return { status: 'TIMED_OUT', error: 'States.Timeout' };
      },
    };
    h.advance(3 * MINUTE);

    // Act
    const second = await h.poll({ workflow });

    // Assess
    expect(pending.executionName).toBeUndefined();
    expect(described).toEqual([executionNameFor(pending.ticketId)]);
    expect(second.report.reconcile?.escalated).toBe(1);
    expect(await theTicket()).toMatchObject({ status: 'escalated', recoveryStatus: 'timed_out' });
  });

  it.each([
    ['StateMachineDoesNotExist', 'State Machine Does Not Exist'],
    ['InvalidExecutionInput', 'Invalid execution input'],
    ['InvalidArn', 'Invalid Arn'],
  ])('escalates a start_pending ticket at once when StartExecution answers %s', async (name, message) => {
    // Prepare
    h.workflow.failNext = 1;
    await h.poll();
    const workflow = {
      start: async () => {
        throw Object.assign(new Error(message), { name });
      },
      describe: h.workflow.describe.bind(h.workflow),
    };
    h.advance(3 * MINUTE);

    // Act
    const second = await h.poll({ workflow });

    // Assess
    expect(second.report.reconcile).toMatchObject({ started: 0, escalatedBeforeStart: 1 });
    expect(await theTicket()).toMatchObject({
      status: 'escalated',
      recoveryStatus: 'start_failed',
      escalationReason: expect.stringContaining(`${name}: ${message}`),
    });
  });

  it('escalates a start_pending ticket whose workflow has not started for longer than the bound', async () => {
    // Prepare
    h.workflow.failNext = 100;
    await h.poll();
    h.advance(30 * MINUTE);
    const early = await h.poll();
    h.advance(31 * MINUTE);

    // Act
    const late = await h.poll();

    // Assess
    expect(early.report.reconcile).toMatchObject({ startFailures: 1, escalatedBeforeStart: 0 });
    expect(late.report.reconcile).toMatchObject({ startFailures: 0, escalatedBeforeStart: 1 });
    expect(await theTicket()).toMatchObject({
      status: 'escalated',
      recoveryStatus: 'start_failed',
      escalationReason: expect.stringMatching(
        /could not be started for more than 60 minutes.*ServiceUnavailable/,
      ),
    });
  });

  it('looks at no more in_progress tickets per run than the batch size, and resumes where it stopped', async () => {
    // Prepare
    for (const id of ['0302-110000-usrterm1', '0302-110000-crash001', '0302-110000-restart1']) {
      h.sim().admin.failCluster(id, CLOUD_SHUTDOWN);
    }
    h.advance(MINUTE);
    await h.poll();
    const byListOrder = (await h.allTickets()).sort((a, b) => a.ticketId.localeCompare(b.ticketId));
    const last = byListOrder.at(-1)?.ticketId ?? '';
    for (const ticket of byListOrder) {
      h.workflow.outcomes.set(ticket.ticketId, { status: ticket.ticketId === last ? 'ABORTED' : 'RUNNING' });
    }
    h.advance(3 * MINUTE);
    const options = { ...resolvePollerOptions({}), reconcileBatchSize: 2 };

    // Act
    const runs = [];
    for (let i = 0; i < 3; i++) runs.push((await h.poll({ options })).report.reconcile);

    // Assess
    expect(byListOrder).toHaveLength(4);
    expect(runs.map((r) => r?.executionsChecked)).toEqual([2, 2, 2]);
    expect(runs.map((r) => r?.stillRunning)).toEqual([2, 1, 2]);
    const statuses = Object.fromEntries((await h.allTickets()).map((t) => [t.ticketId, t.status]));
    expect(statuses[last]).toBe('escalated');
    expect(Object.values(statuses).filter((status) => status === 'in_progress')).toHaveLength(3);
  });
});
