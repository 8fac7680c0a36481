import { mkdir, realpath } from "node:fs/promises";
import { dirname, isAbsolute, join } from "node:path";
import { DEFAULT_TENANT } from "@asgard/contracts";
import { buildEnv, cleanTmp } from "./build.js";
import { runChild } from "./child.js";
import { buildChildEnv } from "./child-env.js";
import { PyEnvError, throwIfAborted, type PyEnvErrorCode } from "./errors.js";
import { exists } from "./fsutil.js";
import { applicableConstraints, constrainedVersion, type ConstraintSet } from "./constraints.js";
import { envKeyOf, lockedPackages, parseInterpreterInfo, PROBE_SCRIPT, requestKeyOf, type InterpreterInfo } from "./keys.js";
import { envDir, layoutOf } from "./layout.js";
import { dropLease, removeLeasesDirIfEmpty, takeLease, touchUsed } from "./lease.js";
import { compileLock, readFreshLock } from "./lock.js";
import { evictEnvs } from "./evict.js";
import { purgeOldFormats } from "./formats.js";
import { satisfyingEnvs } from "./reuse.js";
import { cleanMutexScratch, withMutex } from "./mutex.js";
import { SharedWork } from "./shared.js";
import type { Logger } from "./types.js";
import type { SourceBuildSandbox } from "./sandboxed.js";
import type { UvContext } from "./uv-context.js";
import { bareName, normalizeRequirements } from "./validate.js";

export interface PyEnvManagerOptions {
  /**
   * Cache root; holds `format-<n>/` with locks/, envs/, tmp/ and mutex/ (see layout.ts). May be
   * shared by several processes. Entries of older formats under it are removed on start.
   */
  root: string;
  /** The uv binary (from `ensureUv()`). */
  uvPath: string;
  /** Interpreter used for every env, e.g. "python3" (looked up on PATH) or an absolute path. */
  python: string;
  /**
   * Platform pins added to every env, e.g. ["mlflow==3.17.2"] (MLflow at the server's own
   * version). Checked with the same rules as requirements; a request that conflicts with a
   * pin fails with LOCK_FAILED.
   */
  pins: string[];
  /**
   * The platform's locked Python layer (see `platformConstraints`), applied with `uv pip compile
   * --constraints` to every request minus the entries for packages the request or the pins
   * name. Its version is part of the request and env keys. Absent or null: no constraints
   * (newest versions), with the keys exactly as before constraints existed.
   */
  constraints?: ConstraintSet | null;
  /**
   * Packages left out of every env unless the request names them (`uv pip compile --excludes`),
   * e.g. GPU-only libraries on CPU machines. Part of the request key when not empty.
   */
  excludes?: string[];
  /** A cached lock older than this is recompiled (default 24 h; 0 = always). The env is reused when the new lock is the same. */
  lockTtlMs?: number;
  /** LRU budget for envs/, enforced by `evict()` (default 20 GiB). */
  diskBudgetBytes?: number;
  /** The operator's package index (`--index-url`); never taken from a request. Default: uv's (PyPI). */
  indexUrl?: string;
  /** UV_CACHE_DIR for uv (default: uv's own default). */
  uvCacheDir?: string;
  /**
   * Compile .pyc files at build time (default true). Jobs that run as another user cannot
   * write __pycache__ into a shared env and would otherwise recompile on every import:
   * measured with mlflow + scikit-learn, `import mlflow, sklearn` took 6.8 s without and 2.3 s with.
   * Relocation keeps them valid (Python fixes code paths on load from the source's location).
   */
  compileBytecode?: boolean;
  /**
   * Allow source distributions, built in this sandbox (see `sandboxedSourceBuilds`): resolving
   * and installing then run there, with uv's cache per build. Absent or null (the default):
   * binary wheels only, and a requirement without one fails naming the package. Part of the
   * request key when set.
   */
  sourceBuilds?: SourceBuildSandbox | null;
  logger?: Logger;
}

/** A leased, published env. Call `release()` once the job or worker no longer uses it. */
export interface EnvLease {
  /** sha256 of the normalized request (requirements, pins, interpreter, platform, index). */
  readonly requestKey: string;
  /** sha256 of the lock, interpreter version and platform: the env's directory name. */
  readonly envKey: string;
  /** The venv directory (published, never renamed again while leased). */
  readonly path: string;
  /** `<path>/bin/python`. */
  readonly python: string;
  /** `<path>/bin`, for PATH. */
  readonly binDir: string;
  /** The lock came from the cache: the index was not asked. */
  readonly lockHit: boolean;
  /** The env already existed: nothing was built. */
  readonly envHit: boolean;
  /**
   * The env is another request's, taken because its resolved set satisfies this request
   * (`reuseSatisfying`); nothing was resolved for this request (`lockHit` and `envHit` are true).
   */
  readonly reused: boolean;
  /** Drops the lease so `evict()` may remove the env. Idempotent. */
  release(): Promise<void>;
}

export interface AcquireOptions {
  /** Each output line of uv while resolving or building, unprefixed. */
  onLog?: (line: string) => void;
  /** Aborting kills uv's process group and rejects with CANCELLED; scratch is removed. */
  signal?: AbortSignal;
  /**
   * First look for a published env, built for any request, whose resolved set satisfies every
   * requirement and pin (PEP 440, see satisfy.ts) under the same interpreter and constraint
   * set, and lease it instead of resolving and building. Meant for exact pins such as a
   * model's logged requirements, which the job env that trained it usually satisfies.
   */
  reuseSatisfying?: boolean;
  /**
   * Who the env is for (the platform passes the tenant). An env is shared across scopes only
   * where its content is the lock's alone: one built from source (whose build backend could
   * have written anything into it) is keyed by its scope too, and `reuseSatisfying` offers
   * only envs built for the same scope (another's may hold packages this one never asked for).
   */
  scope?: string;
}

/**
 * The scope of a tenant's envs. The default tenant's envs have none, so a single-team
 * platform (and envs built by hand for it) share as they did before tenants.
 */
export function envScope(tenant: string): string | undefined {
  return tenant === DEFAULT_TENANT ? undefined : tenant;
}

export interface PyEnvStats {
  /** Envs this manager built (uv venv + uv pip sync). */
  builds: number;
  /** Locks this manager compiled (uv pip compile). */
  compiles: number;
  /** Acquires whose lock came from the cache. */
  lockHits: number;
  /** Acquires whose env already existed. */
  envHits: number;
  /** Acquires served by another request's env whose resolved set satisfied them. */
  reuses: number;
}

export interface PyEnvManager {
  /**
   * Validates the requirements (strict PEP 508, as the upload API), resolves the lock (cached
   * per request for `lockTtlMs`), builds or reuses the env and leases it. A warm request
   * (lock and env cached) starts no uv process at all.
   */
  acquire(requirements: string[], o?: AcquireOptions): Promise<EnvLease>;
  /** Removes least-recently-used envs until envs/ fits the budget, never one leased by any process. */
  evict(): Promise<{ removed: string[]; bytes: number }>;
  stats(): PyEnvStats;
  /** The request key `acquire` would use (validates the requirements first). */
  requestKey(requirements: string[]): Promise<string>;
}

const DEFAULT_LOCK_TTL_MS = 24 * 60 * 60_000;
const DEFAULT_DISK_BUDGET = 20 * 1024 ** 3;

export function createPyEnvManager(opts: PyEnvManagerOptions): PyEnvManager {
  const layout = layoutOf(opts.root);
  const pins = normalizeRequirements(opts.pins, "pin");
  const constraints = opts.constraints ?? null;
  const excludes = [...new Set((opts.excludes ?? []).map((name) => excludedName(name)))].sort();
  const pinNames = new Set(pins.map((p) => nameOf(p)));
  const lockTtlMs = opts.lockTtlMs ?? DEFAULT_LOCK_TTL_MS;
  const budget = opts.diskBudgetBytes ?? DEFAULT_DISK_BUDGET;
  const logger = opts.logger;
  const ctx: UvContext = {
    uvPath: opts.uvPath,
    python: opts.python,
    indexUrl: opts.indexUrl,
    compileBytecode: opts.compileBytecode ?? true,
    env: buildChildEnv(process.env, opts.uvCacheDir ? { uvCacheDir: opts.uvCacheDir } : {}),
    logger,
    sourceBuilds: opts.sourceBuilds ? { sandbox: opts.sourceBuilds, readOnlyPaths: [] } : null,
  };
  const counters: PyEnvStats = { builds: 0, compiles: 0, lockHits: 0, envHits: 0, reuses: 0 };
  warnOnPinDrift(pins, constraints, logger);
  const lockWork = new SharedWork<{ text: string; hit: boolean }>();
  const envWork = new SharedWork<boolean>();
  let evicting: Promise<{ removed: string[]; bytes: number }> | undefined;

  // Once per manager: the interpreter's identity (part of every key), the scratch a crashed
  // process left behind and older cache formats. Retried on the next call if it failed.
  let ready: Promise<InterpreterInfo> | undefined;
  const init = (): Promise<InterpreterInfo> => {
    ready ??= (async () => {
      await Promise.all([layout.locks, layout.envs, layout.tmp, layout.mutex].map((d) => mkdir(d, { recursive: true })));
      await purgeOldFormats(opts.root, logger);
      const junk = await cleanTmp(layout);
      if (junk.length > 0) logger?.info({ removed: junk }, "removed scratch left by crashed builds");
      await cleanMutexScratch(layout.mutex);
      const probe = await runChild(opts.python, ["-c", PROBE_SCRIPT], { env: ctx.env, what: "probing the interpreter" });
      if (probe.code !== 0) {
        throw new PyEnvError("BUILD_FAILED", `the interpreter ${opts.python} does not run (exit ${probe.code})`, { output: probe.stderr });
      }
      if (ctx.sourceBuilds) ctx.sourceBuilds.readOnlyPaths = await sandboxPaths(ctx);
      return parseInterpreterInfo(probe.stdout);
    })().catch((err: unknown) => {
      ready = undefined;
      throw asPyEnvError(err, "BUILD_FAILED", `the interpreter ${opts.python} is unusable`);
    });
    return ready;
  };

  const keyFor = async (requirements: string[]) => {
    const normalized = normalizeRequirements(requirements);
    const interpreter = await init();
    const requestKey = requestKeyOf({
      requirements: normalized,
      pins,
      excludes,
      interpreter,
      indexUrl: opts.indexUrl,
      constraints: constraints?.version,
      sourceBuilds: ctx.sourceBuilds !== null,
    });
    return { normalized, interpreter, requestKey };
  };

  /** Constraints and exclusions for one request: none for a package it or the pins name. */
  const platformInputs = (normalized: string[]) => {
    const named = new Set([...normalized.map(nameOf), ...pinNames]);
    return {
      constraints: constraints ? { version: constraints.version, lines: applicableConstraints(constraints, named) } : null,
      excludes: excludes.filter((name) => !named.has(name)),
    };
  };

  const resolveLock = (requestKey: string, normalized: string[], o: AcquireOptions) =>
    lockWork.run(
      requestKey,
      async ({ signal, log }) => {
        const cached = await readFreshLock(layout, requestKey, lockTtlMs);
        if (cached !== null) return { text: cached, hit: true };
        return withMutex(
          join(layout.mutex, `lock-${requestKey}`),
          async () => {
            // Another process may have compiled it while we waited for the mutex.
            const again = await readFreshLock(layout, requestKey, lockTtlMs);
            if (again !== null) return { text: again, hit: true };
            const started = Date.now();
            counters.compiles++;
            const text = await compileLock(ctx, layout, requestKey, { requirements: normalized, pins, ...platformInputs(normalized) }, { signal, log }).catch(
              (err: unknown) => {
                throw asPyEnvError(err, "LOCK_FAILED", "resolving the requirements failed");
              },
            );
            logger?.info({ requestKey, ms: Date.now() - started }, "compiled python requirements lock");
            return { text, hit: false };
          },
          { signal, what: "resolving the requirements", ...(logger ? { logger } : {}) },
        );
      },
      { ...o, what: "resolving the requirements" },
    );

  const ensureEnv = (envKey: string, lockText: string, interpreter: InterpreterInfo, o: AcquireOptions) =>
    envWork.run(
      envKey,
      ({ signal, log }) =>
        withMutex(
          join(layout.mutex, `env-${envKey}`),
          async () => {
            if (await exists(envDir(layout, envKey))) return false;
            const started = Date.now();
            counters.builds++;
            const record = {
              ...interpreterTags(interpreter),
              ...(constraints ? { constraints: constraints.version } : {}),
              ...(o.scope !== undefined ? { scope: o.scope } : {}),
              packages: lockedPackages(lockText),
            };
            const result = await buildEnv(ctx, layout, envKey, lockText, record, { signal, log }).catch((err: unknown) => {
              throw asPyEnvError(err, "BUILD_FAILED", "building the environment failed");
            });
            logger?.info({ envKey, ms: Date.now() - started, bytes: result.bytes, published: result.published }, "built python environment");
            return true;
          },
          { signal, what: "building the environment", ...(logger ? { logger } : {}) },
        ),
      { ...o, what: "building the environment" },
    );

  /** Leases an env that satisfies the request, if one is published; null otherwise. */
  const leaseSatisfying = async (normalized: string[], interpreter: InterpreterInfo, scope: string | undefined) => {
    const candidates = await satisfyingEnvs(layout, {
      ...interpreterTags(interpreter),
      constraints: constraints?.version,
      scope,
      requirements: [...normalized, ...pins],
    });
    for (const envKey of candidates) {
      // Lease first, then look, as in acquire: an eviction in between makes us try the next.
      const leaseFile = await takeLease(layout, envKey);
      if (await exists(envDir(layout, envKey))) {
        await touchUsed(layout, envKey);
        return { envKey, leaseFile };
      }
      await dropLease(leaseFile);
      await removeLeasesDirIfEmpty(layout, envKey);
    }
    return null;
  };

  const leaseOf = (requestKey: string, envKey: string, leaseFile: string, flags: { lockHit: boolean; envHit: boolean; reused: boolean }): EnvLease => {
    const path = envDir(layout, envKey);
    let released = false;
    return {
      requestKey,
      envKey,
      path,
      python: join(path, "bin", "python"),
      binDir: join(path, "bin"),
      ...flags,
      async release() {
        if (released) return;
        released = true;
        await dropLease(leaseFile);
      },
    };
  };

  return {
    async acquire(requirements, o = {}) {
      throwIfAborted(o.signal, "acquiring the environment");
      const { normalized, interpreter, requestKey } = await keyFor(requirements);
      if (o.reuseSatisfying) {
        const found = await leaseSatisfying(normalized, interpreter, o.scope);
        if (found) {
          counters.envHits++;
          counters.reuses++;
          logger?.info({ requestKey, envKey: found.envKey }, "reusing a python environment that satisfies the requirements");
          return leaseOf(requestKey, found.envKey, found.leaseFile, { lockHit: true, envHit: true, reused: true });
        }
      }
      const lock = await resolveLock(requestKey, normalized, o);
      if (lock.hit) counters.lockHits++;
      // A source-built env is its builder's scope's alone: its content is not the lock's alone.
      const envKey = envKeyOf(lock.text, interpreter, constraints?.version, ctx.sourceBuilds !== null ? o.scope : undefined);
      // Lease first, then look: see evict.ts for why this order makes eviction safe.
      const leaseFile = await takeLease(layout, envKey);
      let envHit: boolean;
      try {
        envHit = await exists(envDir(layout, envKey));
        if (envHit) counters.envHits++;
        else await ensureEnv(envKey, lock.text, interpreter, o);
        await touchUsed(layout, envKey);
      } catch (err) {
        await dropLease(leaseFile);
        await removeLeasesDirIfEmpty(layout, envKey);
        throw err;
      }
      return leaseOf(requestKey, envKey, leaseFile, { lockHit: lock.hit, envHit, reused: false });
    },

    evict() {
      evicting ??= withMutex(join(layout.mutex, "evict"), () => evictEnvs(layout, budget, logger), {
        what: "evicting environments",
        ...(logger ? { logger } : {}),
      }).finally(() => {
        evicting = undefined;
      });
      return evicting;
    },

    stats: () => ({ ...counters }),

    async requestKey(requirements) {
      return (await keyFor(requirements)).requestKey;
    },
  };
}

/**
 * What uv reads in the sandbox: its own install, the base interpreter's prefix (an env's
 * bin/python points into it) and the CA certificates named in our environment.
 */
async function sandboxPaths(ctx: UvContext): Promise<string[]> {
  const probe = await runChild(ctx.python, ["-c", "import os, sys; print(os.path.realpath(sys.base_prefix))"], { env: ctx.env, what: "probing the interpreter" });
  if (probe.code !== 0) throw new PyEnvError("BUILD_FAILED", `the interpreter ${ctx.python} does not run (exit ${probe.code})`, { output: probe.stderr });
  const certs = [ctx.env.SSL_CERT_FILE, ctx.env.SSL_CERT_DIR].filter((p): p is string => p !== undefined && isAbsolute(p));
  return [dirname(dirname(await realpath(ctx.uvPath))), probe.stdout.trim(), ...certs];
}

const interpreterTags = (i: InterpreterInfo) => ({ python: `${i.implementation}-${i.version}`, platform: `${i.system}-${i.machine}` });

/** The PEP 503 name of a normalized requirement (its canonical form starts with it). */
const nameOf = (canonical: string): string => /^[a-z0-9][a-z0-9-]*/.exec(canonical)?.[0] ?? canonical;

function excludedName(raw: string): string {
  const name = bareName(raw);
  if (name === null) throw new PyEnvError("INVALID_REQUIREMENT", `an excluded package must be a bare package name, not ${JSON.stringify(raw)}`);
  return name;
}

/**
 * A pin for a package the constraint set also fixes at another version (an external MLflow
 * server newer than the committed set) is honoured — pins are named, so their entry is
 * dropped — but the rest of the set was resolved for the other version and may not fit.
 */
function warnOnPinDrift(pins: string[], constraints: ConstraintSet | null, logger: Logger | undefined): void {
  if (!constraints) return;
  for (const pin of pins) {
    const m = /^([a-z0-9-]+)==([^,;]+)$/.exec(pin);
    const locked = m ? constrainedVersion(constraints, m[1] as string) : undefined;
    if (m && locked !== undefined && locked !== m[2]) {
      logger?.warn(
        { pin, constrained: locked, constraints: constraints.source },
        "a platform pin differs from the constraint set; regenerate the set (npm run constraints:update) for this version",
      );
    }
  }
}

/** Keeps a PyEnvError as is; anything else (spawn failure, disk error) becomes `code` with it as cause. */
function asPyEnvError(err: unknown, code: PyEnvErrorCode, message: string): PyEnvError {
  if (err instanceof PyEnvError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new PyEnvError(code, `${message}: ${detail}`, { output: detail, cause: err });
}
