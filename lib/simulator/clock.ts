/**
 * The simulator's clock. Simulated time runs `timeScale` times faster than real time (0 stops it:
 * a manual clock), and `advance(ms)` jumps it forward, so tests can walk a cluster through a
 * five-minute start without waiting.
 */
export interface SimClockOptions {
  /** Simulated milliseconds per real millisecond; 0 = only `advance` moves time. @default 1 */
  readonly timeScale?: number;
  /** Simulated time at creation (epoch ms). @default the real time */
  readonly startTime?: number;
  readonly realNow?: () => number;
}

export class SimClock {
  private readonly realNow: () => number;
  private originReal: number;
  private originSim: number;
  private scale: number;

  constructor(options: SimClockOptions = {}) {
    this.realNow = options.realNow ?? Date.now;
    this.scale = checkScale(options.timeScale ?? 1);
    this.originReal = this.realNow();
    this.originSim = options.startTime ?? this.originReal;
  }

  now(): number {
    return Math.floor(this.originSim + (this.realNow() - this.originReal) * this.scale);
  }

  get timeScale(): number {
    return this.scale;
  }

  /** Moves simulated time forward; returns the new time. */
  advance(ms: number): number {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError('advance needs a non-negative number of ms');
    this.originSim += ms;
    return this.now();
  }

  setTimeScale(timeScale: number): void {
    const scale = checkScale(timeScale);
    this.originSim = this.now();
    this.originReal = this.realNow();
    this.scale = scale;
  }
}

function checkScale(scale: number): number {
  if (!Number.isFinite(scale) || scale < 0 || scale > 1_000_000) {
    throw new RangeError('timeScale must be a number between 0 and 1000000');
  }
  return scale;
}
