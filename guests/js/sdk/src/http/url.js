/**
 * Splitting an absolute URL into what `wasi:http` asks for.
 *
 * Written out rather than done with `URL`, which would re-encode the path
 * and query: the host must receive them exactly as the connector wrote them.
 *
 * @module
 */

/**
 * The parts of an absolute `http` or `https` URL.
 *
 * @typedef {object} RequestTarget
 * @property {boolean} https `https` rather than `http`
 * @property {string} authority `host[:port]`, IPv6 hosts in brackets
 * @property {string} pathWithQuery the path, starting with `/`, and the query if any
 */

/**
 * Parses `url`. The fragment is dropped, as a client never sends it.
 *
 * @param {string} url
 * @returns {RequestTarget}
 * @throws {Error} saying what is wrong with `url`
 */
export function parseTarget(url) {
  const show = JSON.stringify(url);
  // Whitespace and control characters (C0, DEL, C1) never belong in a URL.
  if (/[\s\u0000-\u001f\u007f-\u009f]/.test(url)) {
    throw new Error(`URL ${show} contains whitespace or control characters`);
  }
  const separator = url.indexOf('://');
  if (separator < 0) {
    throw new Error(`URL ${show} is not absolute`);
  }
  const scheme = url.slice(0, separator).toLowerCase();
  if (scheme !== 'https' && scheme !== 'http') {
    throw new Error(`URL ${show} is not http or https`);
  }
  let rest = url.slice(separator + 3);
  const fragment = rest.indexOf('#');
  if (fragment >= 0) {
    rest = rest.slice(0, fragment);
  }
  const authorityEnd = rest.search(/[/?]/);
  const authority = authorityEnd < 0 ? rest : rest.slice(0, authorityEnd);
  const path = authorityEnd < 0 ? '' : rest.slice(authorityEnd);
  if (authority === '') {
    throw new Error(`URL ${show} has no host`);
  }
  if (authority.includes('@')) {
    throw new Error(`URL ${show} carries user info; send credentials in headers`);
  }
  return {
    https: scheme === 'https',
    authority,
    pathWithQuery: path === '' ? '/' : path.startsWith('?') ? `/${path}` : path,
  };
}
