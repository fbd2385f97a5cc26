/**
 * The simulator's fault switches: request-level faults (throttling, latency, 5xx, dropped
 * connections) picked per request, and workspace-level faults (failing starts, node types without
 * capacity) consulted by the cluster state machine.
 */
import type { SimRandom } from './random.ts';
import type { FaultsConfig, TerminationReasonSeed } from './scenario.ts';

type RequestFaultName = 'throttle' | 'serverErrors' | 'dropConnections';

interface RequestFaultBase {
  readonly paths?: readonly string[] | undefined;
  readonly share: number;
  readonly count?: number | undefined;
}

export type ThrottleFault = NonNullable<FaultsConfig['throttle']>;
export type LatencyFault = NonNullable<FaultsConfig['latency']>;
export type ServerErrorFault = NonNullable<FaultsConfig['serverErrors']>;

const DEFAULT_PATHS = ['/api/'];

export class Faults {
  private readonly random: () => number;
  private throttle: ThrottleFault | undefined;
  private latency: LatencyFault | undefined;
  private serverErrors: ServerErrorFault | undefined;
  private dropConnections: NonNullable<FaultsConfig['dropConnections']> | undefined;
  private failNextStarts: NonNullable<FaultsConfig['failNextStarts']> | undefined;
  private readonly unavailable = new Map<string, TerminationReasonSeed>();
  /** How many times each fault has fired (since the last reset of the stats). */
  readonly fired: Record<string, number> = {};
  private readonly remaining = new Map<RequestFaultName, number>();

  constructor(random: SimRandom | (() => number)) {
    this.random = typeof random === 'function' ? random : () => random.next();
  }

  /** Switches on (or, with `null`, off) every fault named in the config; the others stay as they are. */
  set(config: FaultsConfig): void {
    if (config.throttle !== undefined) this.throttle = this.arm('throttle', config.throttle);
    if (config.latency !== undefined) this.latency = config.latency ?? undefined;
    if (config.serverErrors !== undefined) this.serverErrors = this.arm('serverErrors', config.serverErrors);
    if (config.dropConnections !== undefined)
      this.dropConnections = this.arm('dropConnections', config.dropConnections);
    if (config.failNextStarts !== undefined) this.failNextStarts = config.failNextStarts ?? undefined;
    if (config.unavailableNodeTypes !== undefined) {
      this.unavailable.clear();
      for (const entry of config.unavailableNodeTypes ?? [])
        this.unavailable.set(entry.nodeTypeId, entry.reason);
    }
  }

  clear(): void {
    this.set({
      throttle: null,
      latency: null,
      serverErrors: null,
      dropConnections: null,
      failNextStarts: null,
      unavailableNodeTypes: null,
    });
  }

  private arm<T extends RequestFaultBase>(name: RequestFaultName, fault: T | null): T | undefined {
    this.remaining.delete(name);
    if (fault === null) return undefined;
    if (fault.count !== undefined) this.remaining.set(name, fault.count);
    return fault;
  }

  /** Whether a request fault hits this request (and uses up one of its `count`). */
  private hits(name: RequestFaultName, fault: RequestFaultBase | undefined, path: string): boolean {
    if (fault === undefined) return false;
    if (!(fault.paths ?? DEFAULT_PATHS).some((prefix) => path.startsWith(prefix))) return false;
    const left = this.remaining.get(name);
    if (left !== undefined && left <= 0) return false;
    if (fault.share < 1 && this.random() >= fault.share) return false;
    if (left !== undefined) this.remaining.set(name, left - 1);
    this.fired[name] = (this.fired[name] ?? 0) + 1;
    return true;
  }

  latencyFor(path: string): number {
    const fault = this.latency;
    if (fault === undefined || !(fault.paths ?? DEFAULT_PATHS).some((p) => path.startsWith(p))) return 0;
    return fault.ms + Math.floor(this.random() * fault.jitterMs);
  }

  throttleFor(path: string): ThrottleFault | undefined {
    return this.hits('throttle', this.throttle, path) ? this.throttle : undefined;
  }

  serverErrorFor(path: string): ServerErrorFault | undefined {
    return this.hits('serverErrors', this.serverErrors, path) ? this.serverErrors : undefined;
  }

  dropFor(path: string): boolean {
    return this.hits('dropConnections', this.dropConnections, path);
  }

  /** The reason the next start of this cluster must fail with, if a `failNextStarts` is armed for it. */
  takeStartFailure(clusterId: string): TerminationReasonSeed | undefined {
    const fault = this.failNextStarts;
    if (fault === undefined || fault.count <= 0) return undefined;
    if (fault.clusterIds && !fault.clusterIds.includes(clusterId)) return undefined;
    const count = fault.count - 1;
    this.failNextStarts = count > 0 ? { ...fault, count } : undefined;
    this.fired.failNextStarts = (this.fired.failNextStarts ?? 0) + 1;
    return fault.reason;
  }

  /** The capacity failure of the first unavailable node type among these, if any. */
  unavailableReason(nodeTypeIds: readonly string[]): TerminationReasonSeed | undefined {
    for (const id of nodeTypeIds) {
      const reason = this.unavailable.get(id);
      if (reason === undefined) continue;
      if (reason.parameters === undefined && reason.code === 'AWS_INSUFFICIENT_INSTANCE_CAPACITY_FAILURE') {
        return {
          ...reason,
          parameters: {
            aws_api_error_code: 'InsufficientInstanceCapacity',
            aws_error_message: `We currently do not have sufficient ${id} capacity in the Availability Zone you requested.`,
          },
        };
      }
      return reason;
    }
    return undefined;
  }

  /** The switches as they are now (remaining counts included). */
  describe(): Record<string, unknown> {
    const withRemaining = (name: RequestFaultName, fault: RequestFaultBase | undefined) =>
      fault === undefined
        ? null
        : { ...fault, ...(this.remaining.has(name) ? { count: this.remaining.get(name) } : {}) };
    return {
      throttle: withRemaining('throttle', this.throttle),
      latency: this.latency ?? null,
      serverErrors: withRemaining('serverErrors', this.serverErrors),
      dropConnections: withRemaining('dropConnections', this.dropConnections),
      failNextStarts: this.failNextStarts ?? null,
      unavailableNodeTypes: [...this.unavailable].map(([nodeTypeId, reason]) => ({ nodeTypeId, reason })),
    };
  }
}
