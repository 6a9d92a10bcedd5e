/**
 * Stands in for node:fs in the browser bundle. Checkpoint files need a file system: in a browser,
 * use serialize()/deserialize() from @agrad/nn (bytes in memory) instead.
 */
function unavailable(name: string): never {
  throw new Error(`${name}: there is no file system in a browser; use serialize() and deserialize() instead`);
}
export const closeSync = () => unavailable('closeSync');
export const fsyncSync = () => unavailable('fsyncSync');
export const openSync = () => unavailable('openSync');
export const readFileSync = () => unavailable('readFileSync');
export const readdirSync = () => unavailable('readdirSync');
export const renameSync = () => unavailable('renameSync');
export const rmSync = () => unavailable('rmSync');
export const statSync = () => unavailable('statSync');
export const writeSync = () => unavailable('writeSync');
