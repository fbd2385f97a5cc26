import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { classifyTermination } from '../../functions/core/classifier/classify.ts';
import { TERMINATION_CODE_TABLE } from '../../functions/core/classifier/termination-codes.ts';
import { ConfigurationError } from '../../functions/core/errors.ts';
import {
  backoffSeconds,
  DEFAULT_PLAYBOOKS,
  loadPlaybooks,
  RETRYING_ACTIONS,
} from '../../functions/core/playbooks.ts';

const docs = readFileSync(new URL('../../docs/classification.md', import.meta.url), 'utf8');

// Issue #11: decisions that harmed clusters, corrected.
const CORRECTIONS = [
  ['IN_PENALTY_BOX', 'DatabricksWorkspaceStateError', 'escalate'],
  ['INTERNAL_CAPACITY_FAILURE', 'DatabricksServiceFault', 'retry_with_backoff'],
  ['INSTANCE_POOL_MAX_CAPACITY_REACHED', 'DatabricksInstancePoolExhausted', 'retry_with_backoff'],
  ['DATA_ACCESS_CONFIG_CHANGED', 'DatabricksWorkspaceStateError', 'escalate'],
  ['WORKSPACE_UPDATE', 'DatabricksWorkspaceMaintenance', 'escalate'],
  ['CERT_ROTATION', 'DatabricksWorkspaceMaintenance', 'escalate'],
  ['MAINTENANCE_MODE', 'DatabricksWorkspaceMaintenance', 'escalate'],
] as const;

describe('corrected termination decisions', () => {
  it.each(CORRECTIONS)('classifies %s as %s with action %s', (code, errorType, action) => {
    // Act
    const results = ['CLIENT_ERROR', 'SERVICE_FAULT', 'CLOUD_FAILURE', undefined].map((type) =>
      classifyTermination(type === undefined ? { code } : { code, type }),
    );

    // Assess
    for (const result of results) {
      expect(result).toMatchObject({
        isFailure: true,
        errorType,
        action,
        basis: 'termination_code',
        confidence: 1,
      });
    }
  });

  it.each(CORRECTIONS)(
    'explains %s in the table and in docs/classification.md',
    (code, errorType, action) => {
      // Prepare
      const decision = TERMINATION_CODE_TABLE[code];

      // Act
      const row = docs.split('\n').find((line) => line.startsWith(`| \`${code}\` |`));

      // Assess
      expect(decision?.failure && decision.why.length).toBeGreaterThan(40);
      expect(row).toBe(`| \`${code}\` | yes | \`${errorType}\` | \`${action}\` | ${decision?.why} |`);
    },
  );

  it.each(CORRECTIONS.map(([code]) => [code]))('never changes the node type for %s', (code) => {
    // Act
    const result = classifyTermination({ code, type: 'CLOUD_FAILURE' });

    // Assess
    expect(result.action).not.toBe('restart_with_different_instance_type');
  });

  it.each([
    ['IN_PENALTY_BOX', 'restart_cluster'],
    ['IN_PENALTY_BOX', 'retry_with_backoff'],
    ['DATA_ACCESS_CONFIG_CHANGED', 'restart_cluster'],
  ])('lets no override make %s retry (%s)', (code, action) => {
    // Prepare
    const decision = TERMINATION_CODE_TABLE[code];
    const errorType = decision?.failure ? decision.errorType : 'DatabricksUnclassifiedFailure';

    // Act
    const load = () => loadPlaybooks({ [errorType]: { action } });

    // Assess
    expect(load).toThrow(ConfigurationError);
    expect(load).toThrow(`${errorType}.action`);
  });

  it('keeps the fleet-wide events from restarting every cluster by default', () => {
    // Act
    const actions = ['WORKSPACE_UPDATE', 'CERT_ROTATION', 'MAINTENANCE_MODE'].map(
      (code) => classifyTermination({ code, type: 'SERVICE_FAULT' }).action,
    );

    // Assess
    for (const action of actions) expect(RETRYING_ACTIONS.has(action ?? 'escalate')).toBe(false);
  });

  it.each([
    ['INSTANCE_POOL_MAX_CAPACITY_REACHED', 2, 300],
    ['INSTANCE_POOL_MAX_CAPACITY_REACHED', 3, 600],
    ['INTERNAL_CAPACITY_FAILURE', 2, 120],
  ])('backs off %s before attempt %i by %i s', (code, attempt, seconds) => {
    // Prepare
    const decision = TERMINATION_CODE_TABLE[code];
    const errorType = decision?.failure ? decision.errorType : 'DatabricksUnclassifiedFailure';

    // Act
    const delay = backoffSeconds(DEFAULT_PLAYBOOKS[errorType], attempt);

    // Assess
    expect(delay).toBe(seconds);
  });
});
