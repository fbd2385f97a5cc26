import type { Construct } from 'constructs';
import { resolveBreakerConfig } from '../../functions/core/breaker.ts';
import { loadPlaybooks } from '../../functions/core/playbooks.ts';
import { type PollerConfig, resolvePollerOptions } from '../../functions/poller/config.ts';
import type { IntakeBreakerConfig } from './intake-api.ts';

/** The recovery settings the intake and the poller functions read from their environment. */
export interface RecoverySettings {
  readonly autoRemediationEnabled?: boolean;
  readonly playbookOverrides?: Readonly<Record<string, unknown>>;
  readonly breakerConfig?: IntakeBreakerConfig;
  readonly pollerConfig?: PollerConfig;
}

const BREAKER_KEYS = ['failureThreshold', 'windowSeconds', 'cooldownSeconds', 'probeTimeoutSeconds'];

/**
 * The settings as environment variables (`AUTO_REMEDIATION_ENABLED`, `PLAYBOOK_OVERRIDES`,
 * `BREAKER_CONFIG`, `POLLER_CONFIG`), each validated now so that a bad value fails `cdk synth`,
 * not a run; an unset or empty one is left out (the function's defaults apply).
 */
export function settingsEnvironment(scope: Construct, settings: RecoverySettings): Record<string, string> {
  const playbooks = validSetting(scope, 'playbookOverrides are', settings.playbookOverrides, loadPlaybooks);
  const breakers = validSetting(scope, 'breakerConfig is', settings.breakerConfig, (config) => {
    const unknown = Object.keys(config).filter((key) => !BREAKER_KEYS.includes(key));
    if (unknown.length > 0) {
      throw new Error(`unknown breaker config ${unknown.join(', ')} (known: ${BREAKER_KEYS.join(', ')})`);
    }
    resolveBreakerConfig(config);
  });
  const poller = validSetting(scope, 'pollerConfig is', settings.pollerConfig, resolvePollerOptions);
  return {
    AUTO_REMEDIATION_ENABLED: String(settings.autoRemediationEnabled ?? true),
    ...(playbooks === undefined ? {} : { PLAYBOOK_OVERRIDES: JSON.stringify(playbooks) }),
    ...(breakers === undefined ? {} : { BREAKER_CONFIG: JSON.stringify(breakers) }),
    ...(poller === undefined ? {} : { POLLER_CONFIG: JSON.stringify(poller) }),
  };
}

/** `value` if set and not empty, once `check` accepts it; `<path>: <subject> invalid; <why>` if not. */
function validSetting<T extends object>(
  scope: Construct,
  subject: string,
  value: T | undefined,
  check: (value: T) => unknown,
): T | undefined {
  if (value === undefined || Object.keys(value).length === 0) return undefined;
  try {
    check(value);
  } catch (error) {
    throw new Error(`${scope.node.path}: ${subject} invalid; ${(error as Error).message}`);
  }
  return value;
}
