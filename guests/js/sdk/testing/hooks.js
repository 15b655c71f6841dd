// Module resolution hooks: each import of the contract resolves to a stub
// under ./stubs, which reads and records through the shared test host
// (./host.js).

const STUBS = {
  'sluice:connector/auth@0.1.1': 'auth.js',
  'sluice:connector/credentials@0.1.1': 'credentials.js',
  'sluice:connector/state@0.1.1': 'state.js',
  'sluice:connector/log@0.1.1': 'log.js',
  'wasi:http/outgoing-handler@0.2.12': 'http.js',
  'wasi:http/types@0.2.12': 'http.js',
};

export async function resolve(specifier, context, next) {
  if (specifier.startsWith('sluice:') || specifier.startsWith('wasi:')) {
    const stub = STUBS[specifier];
    if (!stub) {
      throw new Error(`no unit-test stub for ${specifier}; add one to testing/hooks.js in @sluice/guest`);
    }
    return { url: new URL(`./stubs/${stub}`, import.meta.url).href, shortCircuit: true };
  }
  return next(specifier, context);
}
