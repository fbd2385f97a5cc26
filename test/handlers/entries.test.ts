/**
 * The Lambda entries build everything at cold start from their environment, through the one wiring
 * module (`functions/shared/wiring.ts`): a complete environment gives a handler, a missing or malformed
 * variable fails the cold start with a message naming it. Nothing is called while building.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';

const ENTRIES = {
  intake: () => import('../../functions/handlers/intake.ts'),
  poller: () => import('../../functions/handlers/poller.ts'),
  workflow: () => import('../../functions/handlers/workflow.ts'),
  ops: () => import('../../functions/handlers/ops.ts'),
} as const;
type Entry = keyof typeof ENTRIES;

/** What each function's construct sets (ARNs and names are examples, never called). */
const COMPLETE: Record<Entry, Record<string, string>> = {
  intake: {
    TABLE_NAME: 'rca-state',
    STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:000000000000:stateMachine:recovery',
    INTAKE_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:intake-keys',
  },
  poller: {
    TABLE_NAME: 'rca-state',
    STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:000000000000:stateMachine:recovery',
  },
  workflow: {
    TABLE_NAME: 'rca-state',
    NOTIFICATION_TOPIC_ARN: 'arn:aws:sns:us-east-1:000000000000:recovery',
  },
  ops: {
    TABLE_NAME: 'rca-state',
    STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:000000000000:stateMachine:recovery',
    DATABRICKS_SECRET_PREFIX: 'databricks/',
  },
};

describe('Lambda entries', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.resetModules();
  });

  function stubEnv(values: Record<string, string | undefined>): void {
    for (const [name, value] of Object.entries({ AWS_REGION: 'us-east-1', ...values }))
      vi.stubEnv(name, value);
  }

  it.each(Object.keys(ENTRIES) as Entry[])('%s builds its handler from its environment', async (entry) => {
    // Prepare
    stubEnv(COMPLETE[entry]);

    // Act
    const loaded = await ENTRIES[entry]();

    // Assess
    expect(typeof loaded.handler).toBe('function');
  });

  it.each<[Entry, string, Record<string, string | undefined>, RegExp]>([
    ['intake', 'TABLE_NAME', { TABLE_NAME: undefined }, /TABLE_NAME is not set/],
    ['intake', 'INTAKE_SECRET_ARN', { INTAKE_SECRET_ARN: undefined }, /INTAKE_SECRET_ARN is not set/],
    ['intake', 'STATE_MACHINE_ARN', { STATE_MACHINE_ARN: undefined }, /STATE_MACHINE_ARN is not set/],
    ['intake', 'PLAYBOOK_OVERRIDES', { PLAYBOOK_OVERRIDES: '{' }, /PLAYBOOK_OVERRIDES is not valid JSON/],
    ['intake', 'AUTO_REMEDIATION_ENABLED', { AUTO_REMEDIATION_ENABLED: 'maybe' }, /AUTO_REMEDIATION_ENABLED/],
    ['intake', 'RECOVERY_CAP', { RECOVERY_CAP: 'five' }, /RECOVERY_CAP/],
    ['poller', 'BREAKER_CONFIG', { BREAKER_CONFIG: '{"threshold": "three"}' }, /BREAKER_CONFIG is invalid/],
    ['workflow', 'TABLE_NAME', { TABLE_NAME: ' ' }, /TABLE_NAME is not set/],
    ['workflow', 'NOTIFICATION_TOPIC_ARN', { NOTIFICATION_TOPIC_ARN: undefined }, /NOTIFICATION_TOPIC_ARN/],
    ['workflow', 'WORKSPACE_CACHE_SECONDS', { WORKSPACE_CACHE_SECONDS: '-1' }, /WORKSPACE_CACHE_SECONDS/],
    ['workflow', 'PLAYBOOK_OVERRIDES', { PLAYBOOK_OVERRIDES: '{' }, /PLAYBOOK_OVERRIDES is not valid JSON/],
    [
      'workflow',
      'AUTO_REMEDIATION_ENABLED',
      { AUTO_REMEDIATION_ENABLED: 'maybe' },
      /AUTO_REMEDIATION_ENABLED/,
    ],
    ['ops', 'DATABRICKS_SECRET_PREFIX', { DATABRICKS_SECRET_PREFIX: undefined }, /DATABRICKS_SECRET_PREFIX/],
    ['ops', 'STATE_MACHINE_ARN', { STATE_MACHINE_ARN: undefined }, /STATE_MACHINE_ARN is not set/],
  ])('%s fails at cold start with a message naming a bad %s', async (entry, _name, values, message) => {
    // Prepare
    stubEnv({ ...COMPLETE[entry], ...values });

    // Act
    const loading = ENTRIES[entry]();

    // Assess
    await expect(loading).rejects.toThrow(message);
  });
});
