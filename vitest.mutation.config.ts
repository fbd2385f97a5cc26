import { defineConfig } from 'vitest/config';

/**
 * The unit tests of the decision modules `npm run mutation` mutates (see stryker.config.json). They
 * need no workflow interpreter, so each mutant costs a fraction of a second; one file runs against
 * DynamoDB Local (started once for the run): `outageRoleOf` decides through the real correlator.
 */
export default defineConfig({
  test: {
    include: [
      'test/core/breaker.test.ts',
      'test/core/incident-key.test.ts',
      'test/core/classify.test.ts',
      'test/core/classify-rules.test.ts',
      'test/core/classification-corrections.test.ts',
      'test/core/free-text.test.ts',
      'test/core/launch-parameters.test.ts',
      'test/core/termination-codes.test.ts',
      'test/workflow/plan.test.ts',
      'test/workflow/guard-decision.test.ts',
      'test/poller/detect.test.ts',
      'test/poller/detect-rules.test.ts',
      'test/core/outage.test.ts',
      'test/core/outage-edges.test.ts',
      'test/core/outage-path.test.ts',
      'test/core/job-notification.test.ts',
      'test/core/job-run.test.ts',
      'test/core/silence.test.ts',
      'test/core/fleet.test.ts',
      'test/core/cluster-policy.test.ts',
      'test/core/decide.test.ts',
      'test/core/playbooks.test.ts',
      'test/store/outages.test.ts',
    ],
    setupFiles: ['test/setup.ts'],
    globalSetup: ['test/support/dynamodb-global-setup.ts'],
    testTimeout: 30_000,
  },
});
