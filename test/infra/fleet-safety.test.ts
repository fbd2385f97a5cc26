import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { RecoveryStack } from '../../lib/stack.ts';
import { testApp } from './cdk-app.ts';

const CAP = { default: 3, workspaces: { example: 7 } };

function synthesise(context: Record<string, unknown>): Template {
  return Template.fromStack(new RecoveryStack(testApp({ context }), 'FleetStack'));
}

/** The environment variables of every function of the template. */
function environments(template: Template): Record<string, Record<string, unknown>>[] {
  return Object.values(template.findResources('AWS::Lambda::Function')).map(
    (fn) =>
      (fn as { Properties: { Environment?: { Variables?: Record<string, unknown> } } }).Properties.Environment
        ?.Variables ?? {},
  ) as Record<string, Record<string, unknown>>[];
}

describe('RecoveryStack fleet safety', () => {
  it('gives the intake, the poller, the workflow task and the operations functions the same RECOVERY_CAP', () => {
    // Act
    const template = synthesise({ recoveryCap: JSON.stringify(CAP) });

    // Assess
    const caps = environments(template).flatMap((env) =>
      env.RECOVERY_CAP === undefined ? [] : [env.RECOVERY_CAP],
    );
    expect(caps).toEqual([
      JSON.stringify(CAP),
      JSON.stringify(CAP),
      JSON.stringify(CAP),
      JSON.stringify(CAP),
    ]);
  });

  it('sets no RECOVERY_CAP without the context, so the functions keep the default of 5', () => {
    // Act
    const template = synthesise({});

    // Assess
    expect(environments(template).some((env) => env.RECOVERY_CAP !== undefined)).toBe(false);
  });

  it('refuses a cap of 0 at synthesis with an error naming the key', () => {
    // Act + Assess
    expect(() => synthesise({ recoveryCap: '{"default": 0}' })).toThrow('recoveryCap.default');
  });

  it('gives the same four functions the OUTAGE_CORRELATION of the context outageCorrelation, defaults filled in', () => {
    // Act
    const template = synthesise({ outageCorrelation: '{"default": {"threshold": 8}}' });

    // Assess
    const rules = environments(template).flatMap((env) =>
      env.OUTAGE_CORRELATION === undefined ? [] : [JSON.parse(String(env.OUTAGE_CORRELATION))],
    );
    expect(rules).toEqual(Array.from({ length: 4 }, () => ({ default: { threshold: 8 }, workspaces: {} })));
  });

  it('gives the workflow task the remediation switch and playbook overrides the intake and the poller start recoveries with', () => {
    // Act
    const template = synthesise({
      autoRemediationEnabled: 'false',
      playbookOverrides: JSON.stringify({ DatabricksDriverNotResponding: { max_attempts: 2 } }),
    });

    // Assess
    const starters = environments(template).filter((env) => env.AUTO_REMEDIATION_ENABLED !== undefined);
    expect(starters).toHaveLength(4);
    for (const env of starters) {
      expect(env.AUTO_REMEDIATION_ENABLED).toBe('false');
      expect(JSON.parse(String(env.PLAYBOOK_OVERRIDES))).toEqual({
        DatabricksDriverNotResponding: { max_attempts: 2 },
      });
    }
  });

  it('grants the workflow task states:StartExecution on the recovery state machine alone, named by its ARN', () => {
    // Act
    const template = synthesise({});

    // Assess
    const [machine] = Object.keys(template.findResources('AWS::StepFunctions::StateMachine')).filter((id) =>
      id.startsWith('RecoveryWorkflow'),
    );
    const [role] = Object.keys(template.findResources('AWS::IAM::Role')).filter((id) =>
      id.startsWith('RecoveryWorkflowTaskFunctionServiceRole'),
    );
    const grants = Object.values(template.findResources('AWS::IAM::Policy')).filter((policy) =>
      JSON.stringify(policy.Properties.Roles).includes(`"${role}"`),
    );
    const statesStatements = grants.flatMap((policy) =>
      (policy.Properties.PolicyDocument.Statement as { Action: string | string[] }[]).filter((statement) =>
        [statement.Action].flat().some((action) => action.startsWith('states:')),
      ),
    );
    expect(statesStatements).toEqual([
      { Action: 'states:StartExecution', Effect: 'Allow', Resource: { Ref: machine } },
    ]);
  });

  it('refuses a threshold of 1 at synthesis with an error naming the key', () => {
    // Act + Assess
    expect(() => synthesise({ outageCorrelation: '{"default": {"threshold": 1}}' })).toThrow(
      'outageCorrelation.default.threshold',
    );
  });
});
