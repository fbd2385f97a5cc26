/**
 * The classifier: termination reason (code, type, parameters) plus cluster context (state,
 * cluster_source) → { isFailure, errorType, category, action, reason }.
 *
 * Precedence: a SUCCESS-type termination is never a failure; otherwise a known code is decided by the
 * reviewed table (so the seed's DRIVER_UNREACHABLE/CLIENT_ERROR still restarts); an unknown code falls
 * back on its `_DUE_TO_MISCONFIG` suffix, then on its type; UNKNOWN or absent codes use the state
 * message. The action comes from the error type's playbook, then is adapted to what the cluster's
 * kind allows (job clusters are repaired through their run, service-managed clusters are left alone).
 */
import { type Action, type Category, ERROR_TYPE_INFO, type ErrorType } from '../error-types.ts';
import { DEFAULT_PLAYBOOKS, NEVER_RETRY, type PlaybookTable } from '../playbooks.ts';
import type { TerminationReason } from '../schemas/common.ts';
import type { FailureSignal, JobContext } from '../signal.ts';
import { matchFreeText } from './free-text.ts';
import { JOB_TERMINATION_CODE_TABLE } from './job-codes.ts';
import { REFINED_LAUNCH_CODES, refineByParameters } from './launch-parameters.ts';
import { TERMINATION_CODE_TABLE } from './termination-codes.ts';
import type { Classification, DecisionBasis } from './types.ts';

export interface ClusterContext {
  readonly state?: string | undefined;
  readonly clusterSource?: string | undefined;
  readonly stateMessage?: string | undefined;
}

const MISCONFIG_SUFFIX = '_DUE_TO_MISCONFIG';

/** Clusters whose lifecycle another Databricks service owns: it restarts them itself. */
const SERVICE_MANAGED_SOURCES: Readonly<Record<string, string>> = {
  PIPELINE: 'Lakeflow Declarative Pipelines',
  PIPELINE_MAINTENANCE: 'Lakeflow Declarative Pipelines maintenance',
  SQL: 'Databricks SQL',
  MODELS: 'Model Serving',
};

interface Decision {
  readonly errorType: ErrorType;
  readonly basis: DecisionBasis;
  readonly confidence: number;
  readonly reason: string;
}

/** Classifies a cluster termination reason in its cluster context. */
export function classifyTermination(
  terminationReason: TerminationReason | undefined,
  context: ClusterContext = {},
  playbooks: PlaybookTable = DEFAULT_PLAYBOOKS,
): Classification {
  const code = terminationReason?.code;
  const type = terminationReason?.type;
  const codeAndType = { ...(code === undefined ? {} : { code }), ...(type === undefined ? {} : { type }) };

  if (type === 'SUCCESS') {
    return {
      isFailure: false,
      reason: `${code ?? 'termination'} is a SUCCESS-type termination, never a failure`,
      basis: 'termination_type',
      confidence: 1,
      ...codeAndType,
    };
  }
  const decision = decideTermination(code, type, context.stateMessage, terminationReason?.parameters);
  if (decision === undefined) {
    const why = code === undefined ? 'not a failure' : TERMINATION_CODE_TABLE[code]?.why;
    return {
      isFailure: false,
      reason: `${code}: ${why}`,
      basis: 'termination_code',
      confidence: 1,
      ...codeAndType,
    };
  }
  return finish(decision, context, playbooks, codeAndType);
}

/**
 * Whether a termination is a failure, as `classifyTermination` decides it: a SUCCESS type never is; a
 * reviewed code is what the table says; any other code (or none) is.
 */
export function isFailureTermination(reason: Pick<TerminationReason, 'code' | 'type'>): boolean {
  return classifyTermination(reason).isFailure;
}

/**
 * Whether two termination codes name the same failure: the same code, or two reviewed failure codes
 * of one error type (the seed's alias and the real code). Unknown codes match only themselves.
 */
export function sameFailureCode(a: string, b: string | undefined): boolean {
  if (a === b) return true;
  const first = TERMINATION_CODE_TABLE[a];
  const second = b === undefined ? undefined : TERMINATION_CODE_TABLE[b];
  return first?.failure === true && second?.failure === true && first.errorType === second.errorType;
}

/** Categories of a shortage of the node type's capacity: that node type is not tried again. */
const CAPACITY_CATEGORIES: ReadonlySet<Category> = new Set(['capacity', 'spot']);

/** Whether a termination blames the capacity of the cluster's node type (a stockout, spot loss, a full pool). */
export function isCapacityShortage(reason: TerminationReason | undefined): boolean {
  const category = classifyTermination(reason).category;
  return category !== undefined && CAPACITY_CATEGORIES.has(category);
}

/** Error categories a retry or a repair cannot fix: the configuration must change first. */
const CONFIGURATION_CATEGORIES: ReadonlySet<Category> = new Set([
  'configuration',
  'permissions',
  'init_script',
  'library',
  'image',
  'account',
]);

/** Configuration-class failures are never retried or repaired blindly. */
export function isConfigurationClass(errorType: string): boolean {
  if (NEVER_RETRY.has(errorType as ErrorType)) return true;
  const info = ERROR_TYPE_INFO[errorType as ErrorType];
  return info !== undefined && CONFIGURATION_CATEGORIES.has(info.category);
}

function decideTermination(
  code: string | undefined,
  type: string | undefined,
  stateMessage: string | undefined,
  parameters: TerminationReason['parameters'],
): Decision | undefined {
  if (code === undefined || code === 'UNKNOWN') {
    // The state message first, then the messages the termination carries in its parameters.
    const texts: readonly (readonly [string, string | undefined])[] = [
      ['the state message', stateMessage],
      ...Object.entries(parameters ?? {})
        .filter(([key]) => key.endsWith('_message'))
        .map(([key, value]) => [`parameter ${key}`, value] as const),
    ];
    for (const [where, message] of texts) {
      const text = matchFreeText(message);
      if (text === undefined) continue;
      return {
        errorType: text.errorType,
        basis: 'free_text',
        confidence: text.confidence,
        reason: `no termination code; ${where} matches '${text.rule}' ("${text.evidence}")`,
      };
    }
    return {
      errorType: 'DatabricksUnclassifiedFailure',
      basis: 'default',
      confidence: 0.2,
      reason: `${code === undefined ? 'no termination code' : 'termination code UNKNOWN'} and no recognisable state message`,
    };
  }
  const entry = TERMINATION_CODE_TABLE[code];
  if (entry !== undefined) {
    if (!entry.failure) return undefined;
    const refined = REFINED_LAUNCH_CODES.has(code) ? refineByParameters(parameters, code) : undefined;
    if (refined !== undefined) {
      return {
        errorType: refined.errorType,
        basis: 'termination_parameters',
        confidence: refined.confidence,
        reason: `${code} refined by its parameters (${refined.evidence}): the cloud's own error decides`,
      };
    }
    return {
      errorType: entry.errorType,
      basis: 'termination_code',
      confidence: 1,
      reason: `${code}: ${entry.why}`,
    };
  }
  if (code.endsWith(MISCONFIG_SUFFIX)) {
    return {
      errorType: 'DatabricksConfigurationError',
      basis: 'termination_type',
      confidence: 0.7,
      reason: `${code} is not a known code; its ${MISCONFIG_SUFFIX} suffix attributes it to customer configuration`,
    };
  }
  return decideByType(code, type);
}

function decideByType(code: string, type: string | undefined): Decision {
  const unknown = `${code} is not a known code`;
  switch (type) {
    case 'CLIENT_ERROR':
      return {
        errorType: 'DatabricksConfigurationError',
        basis: 'termination_type',
        confidence: 0.6,
        reason: `${unknown}; CLIENT_ERROR means the spec must change first, so no automatic retry`,
      };
    case 'SERVICE_FAULT':
      return {
        errorType: 'DatabricksServiceFault',
        basis: 'termination_type',
        confidence: 0.6,
        reason: `${unknown}; SERVICE_FAULT is a Databricks-side problem worth a delayed retry`,
      };
    case 'CLOUD_FAILURE':
      return {
        errorType: 'DatabricksClusterTerminated',
        basis: 'termination_type',
        confidence: 0.6,
        reason: `${unknown}; CLOUD_FAILURE is a cloud infrastructure problem worth a retry`,
      };
    default: {
      const byName = decideByName(code);
      if (byName !== undefined) {
        return {
          errorType: byName,
          basis: 'termination_type',
          confidence: 0.4,
          reason: `${unknown} and its type is ${type === undefined ? 'missing' : `'${type}'`}; decided from its name`,
        };
      }
      return {
        errorType: 'DatabricksUnclassifiedFailure',
        basis: 'default',
        confidence: 0.3,
        reason: `${unknown} and its type is ${type === undefined ? 'missing' : `'${type}'`}; a human must look`,
      };
    }
  }
}

function decideByName(code: string): ErrorType | undefined {
  if (/THROTTL|RATE_LIMIT|REQUEST_LIMIT/.test(code)) return 'DatabricksCloudThrottled';
  if (/CAPACITY|STOCKOUT/.test(code)) return 'DatabricksResourceExhausted';
  if (/QUOTA/.test(code)) return 'DatabricksCloudQuotaExceeded';
  if (/INIT_SCRIPT/.test(code)) return 'DatabricksInitScriptFailure';
  return undefined;
}

/** Classifies a job run failure that no cluster termination explains. */
export function classifyJobFailure(
  job: JobContext,
  context: ClusterContext = {},
  playbooks: PlaybookTable = DEFAULT_PLAYBOOKS,
): Classification {
  const code = job.terminationCode;
  const codeAndType = {
    ...(code === undefined ? {} : { code }),
    ...(job.terminationType === undefined ? {} : { type: job.terminationType }),
  };
  const entry = code === undefined ? undefined : JOB_TERMINATION_CODE_TABLE[code];
  if (entry !== undefined && !entry.failure) {
    return {
      isFailure: false,
      reason: `${code}: ${entry.why}`,
      basis: 'job_termination_code',
      confidence: 1,
      ...codeAndType,
    };
  }
  if (entry === undefined || entry.clusterRelated) {
    const text = matchFreeText(job.message ?? context.stateMessage);
    if (text !== undefined) {
      const decision: Decision = {
        errorType: text.errorType,
        basis: 'free_text',
        confidence: text.confidence,
        reason: `run ended with ${code ?? 'no termination code'}; its message matches '${text.rule}' ("${text.evidence}")`,
      };
      return finish(decision, context, playbooks, codeAndType);
    }
  }
  if (entry?.failure) {
    const confidence = entry.clusterRelated ? 0.5 : 1;
    const decision: Decision = {
      errorType: entry.errorType,
      basis: 'job_termination_code',
      confidence,
      reason: `${code}: ${entry.why}`,
    };
    return finish(decision, context, playbooks, codeAndType);
  }
  const decision: Decision =
    job.terminationType === 'INTERNAL_ERROR' || job.terminationType === 'CLOUD_FAILURE'
      ? {
          errorType: 'DatabricksServiceFault',
          basis: 'default',
          confidence: 0.4,
          reason: `run ended with ${code ?? 'no code'} of type ${job.terminationType}; a repair after a delay may succeed`,
        }
      : {
          errorType: 'DatabricksJobFailure',
          basis: 'default',
          confidence: 0.4,
          reason: `run ended with ${code ?? 'no termination code'}${job.terminationType ? ` (${job.terminationType})` : ''}`,
        };
  return finish(decision, context, playbooks, codeAndType);
}

/** Classifies any normalised failure signal. */
export function classifySignal(
  signal: FailureSignal,
  playbooks: PlaybookTable = DEFAULT_PLAYBOOKS,
): Classification {
  const context: ClusterContext = {
    state: signal.clusterState,
    clusterSource: signal.clusterSource,
    stateMessage: signal.stateMessage,
  };
  switch (signal.kind) {
    case 'termination':
    case 'start_failure':
      return classifyTermination(signal.terminationReason, context, playbooks);
    case 'restarting':
      if (signal.terminationReason?.code !== undefined) {
        return classifyTermination(signal.terminationReason, context, playbooks);
      }
      return {
        isFailure: false,
        reason:
          'the cluster is restarting and no termination reason says why; the poller watches its outcome',
        basis: 'observation',
        confidence: 1,
      };
    case 'driver_loss':
      return finish(
        {
          errorType: 'DatabricksDriverNotResponding',
          basis: 'observation',
          confidence: 0.9,
          reason: 'the driver lost its state while the cluster was RUNNING, without a user restart',
        },
        context,
        playbooks,
        {},
      );
    case 'stuck':
      return finish(
        {
          errorType: 'DatabricksClusterStartFailure',
          basis: 'observation',
          confidence: 0.8,
          reason: `the cluster has been ${signal.clusterState ?? 'starting'} for longer than the allowed start time`,
        },
        context,
        playbooks,
        {},
      );
    case 'job_failure':
      if (signal.job === undefined) throw new Error('a job_failure signal needs its job context');
      return classifyJobFailure(signal.job, context, playbooks);
  }
}

function finish(
  decision: Decision,
  context: ClusterContext,
  playbooks: PlaybookTable,
  codeAndType: { code?: string; type?: string },
): Classification {
  const { action, note } = adaptAction(playbooks[decision.errorType].action, context);
  return {
    isFailure: true,
    errorType: decision.errorType,
    category: ERROR_TYPE_INFO[decision.errorType].category,
    action,
    reason: note === undefined ? decision.reason : `${decision.reason}; ${note}`,
    basis: decision.basis,
    confidence: decision.confidence,
    ...codeAndType,
  };
}

const CLUSTER_ACTIONS: ReadonlySet<Action> = new Set([
  'restart_cluster',
  'restart_with_different_instance_type',
  'restart_with_on_demand',
  'retry_with_backoff',
]);

function adaptAction(action: Action, context: ClusterContext): { action: Action; note?: string } {
  const source = context.clusterSource;
  if (source === 'JOB') {
    if (CLUSTER_ACTIONS.has(action)) {
      return { action: 'repair_run', note: 'a job cluster cannot be started, so its failed run is repaired' };
    }
    if (action === 'rollback_config') {
      return { action: 'escalate', note: "a job cluster cannot be edited; fix the job's cluster spec" };
    }
  }
  const manager = source === undefined ? undefined : SERVICE_MANAGED_SOURCES[source];
  if (manager !== undefined && action !== 'escalate') {
    return { action: 'escalate', note: `the cluster is managed by ${manager}, which recovers it itself` };
  }
  return { action };
}
