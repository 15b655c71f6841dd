#!/usr/bin/env node
/**
 * `sluice-js-build`: turns a JavaScript connector into a Sluice component.
 *
 * ```sh
 * sluice-js-build connector.js --wit <contract wit dir> [--world delivery] -o connector.wasm
 * ```
 *
 * Two steps, both with the versions this package pins:
 *
 * 1. esbuild bundles the connector and what it imports (this SDK included)
 *    into one ES module, leaving the contract's imports (`sluice:*`,
 *    `wasi:*`) to the component: StarlingMonkey resolves only relative
 *    imports, not package names.
 * 2. componentize-js (its own API, not `jco componentize`, which fails out
 *    of the box in jco 1.35) splices the bindings of the world into the
 *    StarlingMonkey engine and pre-initialises it with the bundle (Wizer),
 *    so no call pays for parsing the JavaScript.
 *
 * @module
 */

import { mkdtemp, rm, writeFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

import { componentize } from '@bytecodealliance/componentize-js';
import { build } from 'esbuild';

const USAGE = 'usage: sluice-js-build <connector.js> --wit <wit dir> [--world delivery] -o <connector.wasm>';

/** The contract's imports, which the component gets from the host rather than the bundle. */
const EXTERNAL_IMPORTS = ['sluice:*', 'wasi:*'];

/**
 * Builds `entry` into the component at `out`.
 *
 * @param {{ entry: string, wit: string, world: string, out: string, bundleOut?: string }} options
 *   `bundleOut` keeps the bundled JavaScript there (stack traces in the
 *   invocation report's `stderr` give its line numbers)
 * @returns {Promise<{ bytes: number, ms: number }>}
 */
async function buildConnector({ entry, wit, world, out, bundleOut }) {
  const started = Date.now();
  const workDir = await mkdtemp(join(tmpdir(), 'sluice-js-build-'));
  try {
    // Named like the entry so that stack traces read `connector.js:<line>`.
    const bundle = bundleOut ? resolve(bundleOut) : join(workDir, basename(entry));
    await build({
      entryPoints: [entry],
      bundle: true,
      format: 'esm',
      platform: 'neutral',
      target: 'es2022',
      external: EXTERNAL_IMPORTS,
      outfile: bundle,
      logLevel: 'warning',
    });
    const { component } = await componentize({
      sourcePath: bundle,
      witPath: resolve(wit),
      worldName: world,
    });
    await writeFile(out, component);
    return { bytes: (await stat(out)).size, ms: Date.now() - started };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      wit: { type: 'string' },
      world: { type: 'string', default: 'delivery' },
      out: { type: 'string', short: 'o' },
      'bundle-out': { type: 'string' },
    },
  });
  if (positionals.length !== 1 || !values.wit || !values.out) {
    console.error(USAGE);
    process.exit(2);
  }
  const { bytes, ms } = await buildConnector({
    entry: positionals[0],
    wit: values.wit,
    world: values.world,
    out: values.out,
    bundleOut: values['bundle-out'],
  });
  console.log(`built ${values.out}: ${bytes} bytes in ${(ms / 1000).toFixed(1)} s`);
}

main().catch((error) => {
  console.error(`sluice-js-build: ${error.message ?? error}`);
  process.exit(1);
});
