/**
 * The configuration's credentials that the component reads itself.
 *
 * A connector reads only the credentials its manifest marks
 * `readable = true` (a value that must go inside a request body), and only
 * the values of the configuration it is running for; every other credential
 * is applied by the host ({@link Request#authenticated}). Never log a value.
 *
 * @module
 */

import { getCredential } from './bindings.js';
import { MissingField } from './context.js';

/**
 * The value of credential `key`, or `undefined` when the manifest does not
 * declare it readable or the configuration leaves it unset or empty.
 *
 * @param {string} key the credential's key in the manifest
 * @returns {string | undefined}
 */
export function get(key) {
  const value = getCredential(key);
  return value === '' ? undefined : value;
}

/**
 * The value of credential `key`.
 *
 * @param {string} key
 * @returns {string}
 * @throws {MissingField} naming the credential when {@link get} finds nothing
 */
export function require(key) {
  const value = get(key);
  if (value === undefined) {
    throw MissingField.credential(key);
  }
  return value;
}
