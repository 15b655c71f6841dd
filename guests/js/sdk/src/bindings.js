/**
 * The host's interfaces, as componentize-js gives them to the module: the
 * contract `sluice:connector@0.1.1` (world `platform`) and `wasi:http`.
 *
 * Every import of the contract goes through this file, so that moving to a
 * new contract version is one edit. Connectors rarely need these directly:
 * the other modules wrap them.
 *
 * The bindings follow jco's conventions: a WIT `result` return throws an
 * error whose `payload` is the error value, an `option` is `undefined` when
 * absent, enums are their case names as strings, variants are
 * `{ tag, val }`, `u64` values are BigInts and resources are classes whose
 * `[Symbol.dispose]()` drops them.
 *
 * @module
 */

export { requestHeader } from 'sluice:connector/auth@0.1.1';
export { get as getCredential } from 'sluice:connector/credentials@0.1.1';
export { get as getState, set as setState, delete as deleteState } from 'sluice:connector/state@0.1.1';
export { write as writeLog } from 'sluice:connector/log@0.1.1';
export { handle } from 'wasi:http/outgoing-handler@0.2.12';
export { Fields, OutgoingBody, OutgoingRequest, RequestOptions, httpErrorCode } from 'wasi:http/types@0.2.12';
