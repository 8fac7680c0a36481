/**
 * Variables copied from the manager's own environment into uv and the interpreter probe.
 * PATH/HOME/LANG make uv and the interpreter run at all; the TLS and proxy settings are how
 * the operator's machine reaches its index (behind a TLS-inspecting proxy, uv fails with
 * "invalid peer certificate: UnknownIssuer" without SSL_CERT_FILE). Nothing else passes:
 * user variables and the runner's secrets must never reach a build, which may run a
 * package's own build backend.
 */
export const PASSED_THROUGH_ENV: readonly string[] = [
  "PATH",
  "HOME",
  "LANG",
  "SSL_CERT_FILE",
  "SSL_CERT_DIR",
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "NO_PROXY",
  "ALL_PROXY",
  "http_proxy",
  "https_proxy",
  "no_proxy",
  "all_proxy",
  // uv's own download cache location, an operator setting like the proxy (`npm run
  // check:fresh` points it at an empty directory); `uvCacheDir` overrides it.
  "UV_CACHE_DIR",
];

/**
 * The complete environment of every child this package starts: the allow-list above taken
 * from `source`, plus UV_NO_CONFIG=1 (no uv.toml or pyproject.toml steers a build),
 * UV_PYTHON_DOWNLOADS=never (a missing interpreter is an error, not a download) and
 * UV_CACHE_DIR when configured. Pure, so it can be checked without starting anything.
 */
export function buildChildEnv(source: Readonly<Record<string, string | undefined>>, opts: { uvCacheDir?: string } = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of PASSED_THROUGH_ENV) {
    const value = source[name];
    if (value !== undefined && value !== "") env[name] = value;
  }
  env.LANG ??= "C.UTF-8";
  env.UV_NO_CONFIG = "1";
  env.UV_PYTHON_DOWNLOADS = "never";
  if (opts.uvCacheDir) env.UV_CACHE_DIR = opts.uvCacheDir;
  return env;
}
