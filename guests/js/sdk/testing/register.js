/**
 * Unit tests of a connector (or of this SDK) under Node: load with
 * `node --import @sluice/guest/testing/register --test`, and the contract's
 * imports (`sluice:connector/*`, `wasi:http/*`) resolve to in-memory stubs
 * driven by `host` from `@sluice/guest/testing`. wasi:http is not
 * simulated: test the code that reads answers with `new Response(...)`, and
 * run the component itself with `sluice connector invoke` or
 * `sluice connector check`.
 *
 * @module
 */

import { register } from 'node:module';

register('./hooks.js', import.meta.url);
