import { existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { notImplemented, type WeftError } from '../../common/errors.js';

// Drivers Docker has and weft refuses with a clear reason instead of `plugin "x" not found`.
// ipvlan needs the kernel's ipvlan module; without it nothing can be done, with it weft still has
// no ipvlan driver. The engine's driver lookup calls unsupportedDriverError(name) for a driver
// name it does not know; null means "not one of these": keep Docker's plugin-not-found error.

/** Kernel modules each refused driver needs. */
const NEEDS: Record<string, string> = { ipvlan: 'ipvlan' };

/**
 * True when the running kernel has the module, loaded (/sys/module/<m>), built in or loadable
 * (listed in /lib/modules/<release>/modules.builtin or modules.dep). Reads files only.
 */
export function kernelHasModule(mod: string, root = '/'): boolean {
  if (existsSync(`${root}sys/module/${mod}`)) return true;
  const dir = `${root}lib/modules/${release()}`;
  const listed = (file: string) => {
    try {
      const re = new RegExp(`(^|/)${mod.replace(/[-_]/g, '[-_]')}\\.ko(\\.[gx]z|\\.zst)?(:|$)`, 'm');
      return re.test(readFileSync(`${dir}/${file}`, 'utf8'));
    } catch {
      return false;
    }
  };
  return listed('modules.builtin') || listed('modules.dep');
}

/** The error for `docker network create -d <name>` when weft refuses the driver, else null. */
export function unsupportedDriverError(name: string, hasModule: (mod: string) => boolean = kernelHasModule): WeftError | null {
  const mod = NEEDS[name];
  if (!mod) return null;
  if (!hasModule(mod)) {
    return notImplemented(`weft cannot create ${name} networks: this kernel (${release()}) lacks the '${mod}' module; use -d macvlan (same idea, one MAC per container) or -d bridge`);
  }
  return notImplemented(`weft does not implement the ${name} driver yet (the kernel has the '${mod}' module); use -d macvlan or -d bridge`);
}
