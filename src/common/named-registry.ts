// Drivers (network or IPAM) by name. It can grow while the daemon runs: a plugin is activated at
// the first use of its name (resolve), after the built-in drivers are registered (register).

/** A driver for a name not registered yet (e.g. a remote plugin found on disk), or null; may throw a refusal. */
export type Resolver<T> = (name: string) => Promise<T | null>;

export class NamedRegistry<T extends { readonly name: string }> {
  private readonly drivers = new Map<string, T>();
  private readonly resolvers: Resolver<T>[] = [];
  private readonly listeners = new Set<(d: T) => void>();
  /** Activations under way, so that two first uses of one name activate it once. */
  private readonly resolving = new Map<string, Promise<T | null>>();

  constructor(initial: T[] = []) {
    for (const d of initial) this.register(d);
  }

  register(driver: T): void {
    this.drivers.set(driver.name, driver);
    for (const l of this.listeners) l(driver);
  }

  /** Asked, in order, for a name no registered driver has. */
  addResolver(resolver: Resolver<T>): void {
    this.resolvers.push(resolver);
  }

  /** Called for every driver registered from now on, and for those already there. */
  onRegister(listener: (d: T) => void): void {
    this.listeners.add(listener);
    for (const d of this.drivers.values()) listener(d);
  }

  /** The registered driver, without activating anything. */
  get(name: string): T | undefined {
    return this.drivers.get(name);
  }

  /** The driver, activating one through the resolvers if needed (null: nobody has it). */
  async resolve(name: string): Promise<T | null> {
    const known = this.drivers.get(name);
    if (known) return known;
    const busy = this.resolving.get(name);
    if (busy) return busy;
    const p = (async () => {
      for (const r of this.resolvers) {
        const found = await r(name);
        if (found) {
          this.register(found);
          return found;
        }
      }
      return null;
    })().finally(() => this.resolving.delete(name));
    this.resolving.set(name, p);
    return p;
  }

  all(): T[] {
    return [...this.drivers.values()];
  }
}
