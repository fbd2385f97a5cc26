/** What the simulator's API was asked: counts per endpoint and status, and the request log. */
import type { SimClock } from './clock.ts';
import type { Faults } from './faults.ts';

export interface LoggedRequest {
  /** Simulated time (epoch ms). */
  readonly at: number;
  readonly method: string;
  readonly path: string;
  readonly clusterId?: string;
}

export interface SimulatorStats {
  /** Requests per `METHOD path`, admin requests excluded. */
  readonly requests: Record<string, number>;
  /** Answers per status code (`drop` for dropped connections). */
  readonly statuses: Record<string, number>;
  readonly tokensIssued: number;
  readonly faultsFired: Record<string, number>;
}

/** The request log keeps the last this many. */
const LOG_MAX = 50_000;

export class Traffic {
  private readonly clock: SimClock;
  private readonly faults: Faults;
  private requests: Record<string, number> = {};
  private statuses: Record<string, number> = {};
  private tokensIssued = 0;
  private readonly log: LoggedRequest[] = [];

  constructor(clock: SimClock, faults: Faults) {
    this.clock = clock;
    this.faults = faults;
  }

  /** Counts an API request and logs it with the cluster it names. */
  request(method: string, path: string, clusterId: string | undefined): void {
    const key = `${method} ${path}`;
    this.requests[key] = (this.requests[key] ?? 0) + 1;
    if (this.log.length >= LOG_MAX) this.log.shift();
    this.log.push({ at: this.clock.now(), method, path, ...(clusterId === undefined ? {} : { clusterId }) });
  }

  /** Counts an answer's status (`drop` for a dropped connection). */
  answered(status: number | 'drop'): void {
    this.statuses[status] = (this.statuses[status] ?? 0) + 1;
  }

  tokenIssued(): void {
    this.tokensIssued++;
  }

  stats(): SimulatorStats {
    return {
      requests: { ...this.requests },
      statuses: { ...this.statuses },
      tokensIssued: this.tokensIssued,
      faultsFired: { ...this.faults.fired },
    };
  }

  requestLog(): readonly LoggedRequest[] {
    return [...this.log];
  }

  reset(): void {
    this.log.length = 0;
    this.requests = {};
    this.statuses = {};
    this.tokensIssued = 0;
    for (const key of Object.keys(this.faults.fired)) delete this.faults.fired[key];
  }
}
