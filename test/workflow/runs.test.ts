/**
 * The job-run side of the remediate and check_health tasks, on in-memory fakes: runs shaped as
 * Databricks may answer them, including without the deprecated `state` (api-facts §4.1).
 */
import { describe, expect, it } from 'vitest';
import type { RecoveryInput } from '../../functions/core/incident.ts';
import { DEFAULT_PLAYBOOKS } from '../../functions/core/playbooks.ts';
import type { Run } from '../../functions/core/schemas/databricks.ts';
import { DatabricksNotFoundError } from '../../functions/databricks/errors.ts';
import type { WorkflowDatabricks, WorkflowDeps } from '../../functions/workflow/deps.ts';
import { checkHealth } from '../../functions/workflow/health.ts';
import type { Plan, RecoveryState } from '../../functions/workflow/model.ts';
import { readParentRun } from '../../functions/workflow/reads.ts';
import { remediate } from '../../functions/workflow/remediate.ts';

const NOW = 1_764_300_000_000;
const RUN_ID = '455644833';

const INPUT: RecoveryInput = {
  ticketId: 'RCA-20250102-001',
  workspaceId: 'default',
  jobId: '8400',
  runId: RUN_ID,
  errorType: 'DatabricksClusterTerminated',
  action: 'repair_run',
  playbook: DEFAULT_PLAYBOOKS.DatabricksClusterTerminated,
  signal: {
    source: 'job_notification',
    kind: 'job_failure',
    workspaceId: 'default',
    observedAt: NOW,
    incidentKey: 'default#job#8400#run#455644833',
  },
};

/** A run that ended in `code`, as the current API shapes it: `status` only, no `state`. */
const statusOnly = (code: string): Pick<Run, 'status'> => ({
  status: {
    state: 'TERMINATED',
    termination_details: { code, type: code.startsWith('SUCCESS') ? 'SUCCESS' : 'CLIENT_ERROR' },
  },
});

function fakes(run: Run): { deps: WorkflowDeps; calls: string[] } {
  const calls: string[] = [];
  const unexpected = (name: string) => async () => {
    calls.push(name);
    throw new Error(`${name} was not expected`);
  };
  const client: WorkflowDatabricks = {
    host: 'https://dbc-1234.cloud.databricks.com',
    getCluster: unexpected('getCluster'),
    startCluster: unexpected('startCluster'),
    restartCluster: unexpected('restartCluster'),
    updateCluster: unexpected('updateCluster'),
    listClusterEvents: unexpected('listClusterEvents'),
    getClusterPolicy: unexpected('getClusterPolicy'),
    getRun: async () => {
      calls.push('getRun');
      return run;
    },
    repairRun: async () => {
      calls.push('repairRun');
      return { repair_id: '1' } as never;
    },
  };
  const deps: WorkflowDeps = {
    tickets: {
      getTicket: async () => undefined,
      transition: unexpected('transition') as never,
      appendAudit: async () => ({}) as never,
    },
    restores: { put: unexpected('put') as never },
    breakers: {
      recordSuccess: unexpected('recordSuccess') as never,
      recordFailure: unexpected('recordFailure') as never,
      release: unexpected('release') as never,
    },
    databricks: () => client,
    notifier: { notify: async () => undefined },
    clock: () => NOW,
    logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
  };
  return { deps, calls };
}

function stateWith(more: Partial<RecoveryState> = {}): RecoveryState {
  return {
    input: INPUT,
    attempt: 1,
    startedAt: NOW - 60_000,
    deadlineAt: NOW + 3_600_000,
    phase: 'verify',
    outcome: 'verify',
    wait: { seconds: 1 },
    backedOff: true,
    ...more,
  };
}

const plan = (more: Partial<Plan> = {}): Plan => ({
  subject: 'run',
  primitive: 'repair',
  description: `repaired run ${RUN_ID}`,
  actedAt: NOW - 120_000,
  healthDeadlineAt: NOW + 600_000,
  ...more,
});

describe('job runs in the recovery tasks', () => {
  it.each([
    ['the deprecated state', { state: { life_cycle_state: 'TERMINATED', result_state: 'SUCCESS' } }],
    ['status alone', statusOnly('SUCCESS')],
    ['status alone, with failures in some tasks', statusOnly('SUCCESS_WITH_FAILURES')],
  ])('verifies, and never repairs, a run whose success it reads from %s', async (_name, shape) => {
    // Prepare
    const { deps, calls } = fakes({ run_id: RUN_ID, ...shape } as Run);

    // Act
    const next = await remediate(stateWith({ phase: 'remediate' }), deps);

    // Assess
    expect(calls).toEqual(['getRun']);
    expect(next).toMatchObject({
      outcome: 'verify',
      plan: { subject: 'run', primitive: 'none', description: `run ${RUN_ID} has succeeded already` },
    });
  });

  it.each([
    ['the run itself, when nothing was repaired', {}, statusOnly('SUCCESS')],
    [
      'the repair, from its status',
      { repairId: '77' },
      {
        ...statusOnly('RUN_EXECUTION_ERROR'),
        repair_history: [{ type: 'REPAIR', id: '77', ...statusOnly('SUCCESS') }],
      },
    ],
  ])('finds the run healthy from the status of %s', async (_name, planned, shape) => {
    // Prepare
    const { deps } = fakes({ run_id: RUN_ID, ...shape } as Run);

    // Act
    const next = await checkHealth(stateWith({ plan: plan(planned) }), deps);

    // Assess
    expect(next.outcome).toBe('healthy');
  });

  it('fails the attempt of a run whose status names a failure', async () => {
    // Prepare
    const { deps } = fakes({ run_id: RUN_ID, ...statusOnly('CLUSTER_ERROR') } as Run);

    // Act
    const next = await checkHealth(stateWith({ plan: plan() }), deps);

    // Assess
    expect(next.outcome).toBe('retry');
    expect(next.lastFailure).toMatchObject({
      kind: 'run_failed',
      reason: expect.stringContaining('CLUSTER_ERROR'),
    });
  });
});

describe('readParentRun', () => {
  const client = (runs: Record<string, Run>): WorkflowDatabricks =>
    ({
      getRun: async (id: string | number) => {
        const run = runs[String(id)];
        if (run === undefined)
          throw new DatabricksNotFoundError({
            status: 400,
            errorCode: 'INVALID_PARAMETER_VALUE',
            message: `Run ${id} does not exist`,
            operation: 'GET /api/2.2/jobs/runs/get',
          });
        return run;
      },
    }) as unknown as WorkflowDatabricks;
  const deps = {} as WorkflowDeps;

  it.each([
    ['a job run: itself', { '11': { run_id: '11' } }, '11', '11'],
    [
      'a task run id read from a job cluster name: its parent',
      { '12': { run_id: '12', parent_run_id: 10 }, '10': { run_id: '10' } },
      '12',
      '10',
    ],
    [
      'a task run whose parent is gone: the task run',
      { '13': { run_id: '13', parent_run_id: '9' } },
      '13',
      '13',
    ],
  ])('repairs %s', async (_name, runs, asked, repaired) => {
    // Act
    const found = await readParentRun(client(runs as unknown as Record<string, Run>), asked, deps);

    // Assess
    expect(found?.runId).toBe(repaired);
  });
});
