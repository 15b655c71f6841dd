import { host } from '../host.js';

export function get(key) {
  return host.readable.get(key);
}
