import { ComponentError, host } from '../host.js';

export function requestHeader(key) {
  if (!host.applied.has(key)) {
    throw new ComponentError('not-host-managed');
  }
  if (host.applied.get(key) === undefined) {
    throw new ComponentError('not-configured');
  }
  return ['sluice-auth', key];
}
