import { ComponentError, host } from '../host.js';

export function get(key) {
  return host.state.get(key);
}

export function set(key, value, ttlSeconds) {
  if (host.refuseWrites) {
    throw new ComponentError(host.refuseWrites);
  }
  host.state.set(key, value);
  host.ttls.set(key, ttlSeconds);
}

function remove(key) {
  host.state.delete(key);
  host.ttls.delete(key);
}

export { remove as delete };
