/**
 * A set of bigints kept as sorted, disjoint, non-adjacent closed intervals. Used addresses cluster (the
 * allocator hands out the lowest free one), so a pool with thousands of services holds a handful of
 * intervals, and "the first free address at or after x" is one binary search however large the pool is.
 */
export class IntervalSet {
  // Parallel arrays: starts[i]..ends[i], with ends[i] + 1 < starts[i + 1].
  private readonly starts: bigint[] = [];
  private readonly ends: bigint[] = [];
  private members = 0;

  /** Number of values in the set. */
  get size(): number {
    return this.members;
  }

  get intervalCount(): number {
    return this.starts.length;
  }

  has(value: bigint): boolean {
    const index = this.floorIndex(value);
    return index >= 0 && (this.ends[index] as bigint) >= value;
  }

  /** Adds the value; false when it was already present. */
  add(value: bigint): boolean {
    const index = this.floorIndex(value);
    if (index >= 0 && (this.ends[index] as bigint) >= value) return false;
    const joinsLeft = index >= 0 && this.ends[index] === value - 1n;
    const joinsRight = index + 1 < this.starts.length && this.starts[index + 1] === value + 1n;
    if (joinsLeft && joinsRight) {
      this.ends[index] = this.ends[index + 1] as bigint;
      this.starts.splice(index + 1, 1);
      this.ends.splice(index + 1, 1);
    } else if (joinsLeft) {
      this.ends[index] = value;
    } else if (joinsRight) {
      this.starts[index + 1] = value;
    } else {
      this.starts.splice(index + 1, 0, value);
      this.ends.splice(index + 1, 0, value);
    }
    this.members += 1;
    return true;
  }

  /** Removes the value; false when it was absent. */
  delete(value: bigint): boolean {
    const index = this.floorIndex(value);
    if (index < 0) return false;
    const start = this.starts[index] as bigint;
    const end = this.ends[index] as bigint;
    if (end < value) return false;
    if (start === end) {
      this.starts.splice(index, 1);
      this.ends.splice(index, 1);
    } else if (value === start) {
      this.starts[index] = value + 1n;
    } else if (value === end) {
      this.ends[index] = value - 1n;
    } else {
      this.ends[index] = value - 1n;
      this.starts.splice(index + 1, 0, value + 1n);
      this.ends.splice(index + 1, 0, end);
    }
    this.members -= 1;
    return true;
  }

  /** The smallest value at or after `from` that is not in the set. */
  firstAbsentFrom(from: bigint): bigint {
    const index = this.floorIndex(from);
    if (index >= 0 && (this.ends[index] as bigint) >= from) return (this.ends[index] as bigint) + 1n;
    return from;
  }

  /** How many members lie in [first, last]. Cost: two binary searches plus the intervals in between. */
  countIn(first: bigint, last: bigint): number {
    if (last < first) return 0;
    let index = Math.max(this.floorIndex(first), 0);
    let count = 0;
    for (; index < this.starts.length; index += 1) {
      const start = this.starts[index] as bigint;
      const end = this.ends[index] as bigint;
      if (start > last) break;
      if (end < first) continue;
      const from = start > first ? start : first;
      const to = end < last ? end : last;
      count += Number(to - from + 1n);
    }
    return count;
  }

  /** The intervals, for tests and diagnostics. */
  intervals(): Array<readonly [bigint, bigint]> {
    return this.starts.map((start, index) => [start, this.ends[index] as bigint] as const);
  }

  /** Index of the last interval starting at or before value, or -1. */
  private floorIndex(value: bigint): number {
    let low = 0;
    let high = this.starts.length - 1;
    let found = -1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      if ((this.starts[middle] as bigint) <= value) {
        found = middle;
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    return found;
  }
}
