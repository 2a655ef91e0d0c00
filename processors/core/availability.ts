/**
 * Availability index: the load (sum of quantities of live reservations) at every instant, with
 * "highest load over [start, end)" and "add/remove a reservation" in O(log n).
 *
 * The load is a step function: each reservation adds +quantity at its start and -quantity at its end,
 * and the load at instant x is the sum of the deltas at breakpoints <= x. The breakpoints live in a treap
 * keyed by time (any integer ms, no fixed grid, no coordinate compression), each node augmented with the
 * sum of its subtree's deltas and the best prefix sum of its subtree in time order. The highest load over
 * [start, end) is then the load at `start` or a prefix sum at a breakpoint inside (start, end), both found
 * on O(log n) root-to-leaf paths. Breakpoints whose delta returns to 0 are deleted, so memory follows the
 * live reservations, not history.
 */

/** What the decider needs from an availability index. */
export interface AvailabilityIndex {
  /** Adds `quantity` units of load over [start, end). */
  add(start: number, end: number, quantity: number): void;
  /** Removes load added by `add` with the same arguments. */
  remove(start: number, end: number, quantity: number): void;
  /** Highest load at any instant of [start, end); 0 for an empty range. */
  maxLoad(start: number, end: number): number;
  /** Highest load at any instant. */
  peakLoad(): number;
}

class Node {
  left: Node | null = null;
  right: Node | null = null;
  /** Sum of the deltas in this subtree. */
  sum: number;
  /** Highest prefix sum of this subtree's deltas in time order, counting the empty prefix (so >= 0). */
  best: number;

  constructor(
    readonly key: number,
    public delta: number,
    readonly priority: number,
  ) {
    this.sum = delta;
    this.best = Math.max(delta, 0);
  }
}

const sumOf = (n: Node | null): number => (n === null ? 0 : n.sum);
const bestOf = (n: Node | null): number => (n === null ? 0 : n.best);

function pull(n: Node): void {
  const leftSum = sumOf(n.left);
  const upToHere = leftSum + n.delta;
  n.sum = upToHere + sumOf(n.right);
  n.best = Math.max(bestOf(n.left), upToHere + bestOf(n.right));
}

function rotateRight(n: Node): Node {
  const l = n.left as Node;
  n.left = l.right;
  pull(n);
  l.right = n;
  pull(l);
  return l;
}

function rotateLeft(n: Node): Node {
  const r = n.right as Node;
  n.right = r.left;
  pull(n);
  r.left = n;
  pull(r);
  return r;
}

/** Joins two treaps where every key of `a` is below every key of `b`. */
function join(a: Node | null, b: Node | null): Node | null {
  if (a === null) return b;
  if (b === null) return a;
  if (a.priority > b.priority) {
    a.right = join(a.right, b);
    pull(a);
    return a;
  }
  b.left = join(a, b.left);
  pull(b);
  return b;
}

/**
 * Heap priority of a breakpoint: a hash of its time, so the shape depends only on the keys (no randomness
 * in the core, identical after a rebuild). The seed lets a runtime pick per-process priorities, so nobody
 * can choose times that line up into a degenerate tree.
 */
function priorityOf(key: number, seed: number): number {
  let h =
    Math.imul((key % 0x1_0000_0000) | 0, 0x9e3779b1) ^
    Math.imul(Math.floor(key / 0x1_0000_0000) | 0, 0x85ebca6b);
  h ^= seed;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The production availability index: an augmented treap of breakpoints, O(log n) per operation. */
export class AvailabilityTree implements AvailabilityIndex {
  private root: Node | null = null;
  private count = 0;

  constructor(private readonly seed = 0x2545f491) {}

  /** Number of breakpoints stored (distinct instants where the load changes). */
  get breakpoints(): number {
    return this.count;
  }

  add(start: number, end: number, quantity: number): void {
    if (!(start < end) || quantity === 0) return;
    this.root = this.update(this.root, start, quantity);
    this.root = this.update(this.root, end, -quantity);
  }

  remove(start: number, end: number, quantity: number): void {
    this.add(start, end, -quantity);
  }

  maxLoad(start: number, end: number): number {
    if (!(start < end)) return 0;
    // One descent finds both the load at `start` and the best prefix sum at a breakpoint inside
    // (start, end). First walk down to the first node inside the range: its left subtree holds the low
    // part of the range, its right subtree the high part.
    let n = this.root;
    let before = 0; // sum of the deltas of keys <= start seen so far
    while (n !== null && (n.key <= start || n.key >= end)) {
      if (n.key <= start) {
        before += sumOf(n.left) + n.delta;
        n = n.right;
      } else {
        n = n.left;
      }
    }
    if (n === null) return before; // no breakpoint inside: the load is flat from start to end

    const atSplit = before + sumOf(n.left) + n.delta;
    let best = atSplit;
    // Low part: every node > start, with its right subtree, is inside the range; nodes <= start add up
    // to the load at `start`.
    let m = n.left;
    let atStart = before;
    while (m !== null) {
      if (m.key <= start) {
        atStart += sumOf(m.left) + m.delta;
        m = m.right;
      } else {
        best = Math.max(best, atStart + sumOf(m.left) + m.delta + bestOf(m.right));
        m = m.left;
      }
    }
    // High part: every node < end, with its left subtree, is inside the range. `offset` is always the
    // prefix sum at an in-range breakpoint, so the empty prefix counted by `best` is a real load.
    m = n.right;
    let offset = atSplit;
    while (m !== null) {
      if (m.key >= end) {
        m = m.left;
      } else {
        best = Math.max(best, offset + bestOf(m.left));
        offset += sumOf(m.left) + m.delta;
        best = Math.max(best, offset);
        m = m.right;
      }
    }
    return Math.max(best, atStart);
  }

  peakLoad(): number {
    return bestOf(this.root);
  }

  /** Load at instant x: the sum of the deltas at breakpoints <= x. */
  loadAt(x: number): number {
    let n = this.root;
    let load = 0;
    while (n !== null) {
      if (n.key <= x) {
        load += sumOf(n.left) + n.delta;
        n = n.right;
      } else {
        n = n.left;
      }
    }
    return load;
  }

  private update(n: Node | null, key: number, delta: number): Node | null {
    if (n === null) {
      this.count++;
      return new Node(key, delta, priorityOf(key, this.seed));
    }
    if (key === n.key) {
      n.delta += delta;
      if (n.delta === 0) {
        this.count--;
        return join(n.left, n.right);
      }
      pull(n);
      return n;
    }
    if (key < n.key) {
      const left = this.update(n.left, key, delta);
      n.left = left;
      if (left !== null && left.priority > n.priority) return rotateRight(n);
    } else {
      const right = this.update(n.right, key, delta);
      n.right = right;
      if (right !== null && right.priority > n.priority) return rotateLeft(n);
    }
    pull(n);
    return n;
  }
}
