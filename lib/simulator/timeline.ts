/**
 * The simulator's timeline: transitions due at a simulated time, in a min-heap ordered by time and
 * then by when they were scheduled. Transitions are not timers: the workspace applies the due ones
 * on `tick()`, so a sped-up or manually advanced clock gives the same history as real time would.
 *
 * An entry names what it moves (a cluster's state, its driver's health, its idle check, a run) and
 * the `transition` number it was scheduled under; an entry whose number is no longer current is stale
 * and skipped by its owner.
 */

export type TransitionKind = 'cluster' | 'driver' | 'idle' | 'run';

export interface Transition {
  readonly at: number;
  readonly kind: TransitionKind;
  readonly id: string;
  readonly transition: number;
}

interface HeapEntry extends Transition {
  readonly order: number;
}

export class Timeline {
  private heap: HeapEntry[] = [];
  private order = 0;

  /** Transitions waiting to be applied. */
  get size(): number {
    return this.heap.length;
  }

  clear(): void {
    this.heap = [];
  }

  add(transition: Transition): void {
    const heap = this.heap;
    heap.push({ ...transition, order: ++this.order });
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i], heap[parent])) break;
      swap(heap, i, parent);
      i = parent;
    }
  }

  /** Removes and returns the earliest transition due by `now`, if any. */
  takeDue(now: number): Transition | undefined {
    const top = this.heap[0];
    if (top === undefined || top.at > now) return undefined;
    this.pop();
    return top;
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop();
    if (heap.length === 0 || last === undefined) return;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let smallest = i;
      if (l < heap.length && before(heap[l], heap[smallest])) smallest = l;
      if (r < heap.length && before(heap[r], heap[smallest])) smallest = r;
      if (smallest === i) return;
      swap(heap, i, smallest);
      i = smallest;
    }
  }
}

function before(a: HeapEntry | undefined, b: HeapEntry | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  return a.at < b.at || (a.at === b.at && a.order < b.order);
}

function swap<T>(items: T[], i: number, j: number): void {
  const a = items[i] as T;
  items[i] = items[j] as T;
  items[j] = a;
}
