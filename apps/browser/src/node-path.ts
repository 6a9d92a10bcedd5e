/**
 * Stands in for node:path in the browser bundle: only checkpoint files use it, and a browser has
 * no file system for them (see ./node-fs.ts).
 */
function unavailable(name: string): never {
  throw new Error(`${name}: there is no file system in a browser; use serialize() and deserialize() instead`);
}
export const basename = () => unavailable('basename');
export const dirname = () => unavailable('dirname');
export const join = () => unavailable('join');
