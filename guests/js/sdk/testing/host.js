/**
 * The host as unit tests see it (`import { host } from '@sluice/guest/testing'`,
 * with `--import @sluice/guest/testing/register`): the credentials, state and
 * log of one configuration, in memory. The stubs of the contract's imports
 * read and record through it; start each test with `host.reset()`.
 *
 * ```js
 * host.applied.set('api_key', 'set');          // a credential the host applies
 * host.readable.set('account_id', 'A-1');      // a readable credential
 * state.set('cursor', 'p2');                   // lands in host.state
 * assert.deepEqual(host.logs[0], ['info', 'message posted', [['ts', '1.2']]]);
 * ```
 *
 * @module
 */

/** An error as the bindings throw it for a WIT `result`'s error case: `payload` is the error value. */
export class ComponentError extends Error {
  constructor(payload) {
    super(`${String(payload)} (see error.payload)`);
    this.payload = payload;
  }
}

export const host = {
  /** Credentials the component may read, by key. */
  readable: new Map(),
  /** Credentials the host applies, by key; `undefined` values are declared but unset. */
  applied: new Map(),
  /** State values (Uint8Array) and the TTLs they were written with. */
  state: new Map(),
  ttls: new Map(),
  /** When set, every state write is refused with this reason. */
  refuseWrites: undefined,
  /** Log records: [level, message, fields]. */
  logs: [],

  reset() {
    this.readable.clear();
    this.applied.clear();
    this.state.clear();
    this.ttls.clear();
    this.refuseWrites = undefined;
    this.logs.length = 0;
  },
};
