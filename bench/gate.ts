// The gate of the separate-stacks runs: their creates let go together once every host is up.

/**
 * Holds the Create calls of N separate stacks until every stack is at its own (or ended before it), then lets
 * them go at once. On CI each stack starts its provider host on its own runner; here 50 hosts start on one
 * 2-core machine, about a CPU-second each (most of it `@pulumi/pulumi`'s own start-up), and without the gate
 * the later starts would run inside the earlier stacks' creates. The creates still reach the API together: the
 * hardest case for allocation races, and the hosts' own contention. How long the starts took is printed apart.
 */
export class CreateGate {
  readonly #arrived = new Set<string>();
  readonly #waiting: Array<() => void> = [];
  #ended = 0;
  readonly startedAt = Date.now();
  openedAt?: number;
  constructor(readonly expected: number) {}
  /**
   * Resolves when the gate opens: one stack per turn of the event loop, in the order they arrived. Here every
   * stack's engine shares this process's one thread; let go in one go, the 50 engines would each serialize and
   * send their Create call before any went out, and each stack's call would carry the others' engine work, which
   * on CI runs on 50 other runners. One at a time, each call goes out before the next engine's begins.
   */
  arrive(urn: string): Promise<void> {
    this.#arrived.add(urn.split("::").pop()!);
    const released = new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#check();
    return released;
  }
  /** The stack of resource `name` ended its `up`: it may have failed before its create. */
  ended(name: string): void {
    if (!this.#arrived.has(name)) this.#ended++;
    this.#check();
  }
  #check(): void {
    if (this.openedAt === undefined && this.#arrived.size + this.#ended >= this.expected) {
      this.openedAt = Date.now();
    }
    if (this.openedAt !== undefined && !this.#releasing) this.#releaseNext();
  }
  #releasing = false;
  readonly #releaseNext = (): void => {
    const next = this.#waiting.shift();
    this.#releasing = next !== undefined;
    if (!next) return;
    next();
    setImmediate(this.#releaseNext);
  };
}
