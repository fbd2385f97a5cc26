/** Bounded concurrency: a counting semaphore and a bounded map over it. */

export class Semaphore {
  readonly #waiting: (() => void)[] = [];
  #free: number;

  constructor(permits: number) {
    if (!Number.isInteger(permits) || permits < 1) {
      throw new RangeError(`a semaphore needs at least one permit, got ${permits}`);
    }
    this.#free = permits;
  }

  /** Runs `task` once a permit is free, and gives the permit back however it ends. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    await this.#acquire();
    try {
      return await task();
    } finally {
      this.#release();
    }
  }

  #acquire(): Promise<void> {
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #release(): void {
    const next = this.#waiting.shift();
    if (next === undefined) this.#free++;
    else next();
  }
}

/**
 * Calls `fn` on every item with at most `limit` calls in flight, and settles every call: one
 * rejection neither stops the others nor loses their results.
 */
export async function settleAll<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<PromiseSettledResult<R>[]> {
  const semaphore = new Semaphore(Math.max(1, limit));
  return Promise.allSettled(items.map((item) => semaphore.run(() => fn(item))));
}
