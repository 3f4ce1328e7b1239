// The native binding (src/binding.cc) and its one typed interface. Loaded
// from build/Release (a source build) or prebuilds/<platform>-<arch>/, in
// node-gyp-build's order, with node-gyp-build itself as the fallback.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** Index of each setting in the arrays exchanged with the native layer. */
export const enum Field {
  Enable = 0,
  Idle = 1,
  Interval = 2,
  Count = 3,
  UserTimeout = 4,
}

export const FIELD_COUNT = 5;
/** Request value meaning "leave this setting as the socket has it". */
export const KEEP = -1;

/** Layout of the Int32Array the native calls write into. */
export const enum Out {
  ReadMask = 5,
  Option = 6,
  Syscall = 7,
  Length = 8,
}

export interface NativeCapabilities {
  readonly platform: string;
  /** Bit (1 << Field) set when that setting can be changed. */
  readonly setMask: number;
  /** Bit (1 << Field) set when that setting is read back from the kernel. */
  readonly readMask: number;
  readonly min: readonly number[];
  readonly max: readonly number[];
  /** What the OS uses for a setting it cannot report, or -1. */
  readonly fallback: readonly number[];
  /** Index into optionNames of the OS option behind each setting. */
  readonly option: readonly number[];
}

/**
 * The array layouts as the addon defines them (src/binding.cc), checked
 * against the constants here when the addon loads (checkLayout).
 */
export interface NativeLayout {
  readonly fieldCount: number;
  readonly keep: number;
  readonly outLength: number;
  readonly outReadMask: number;
  readonly outOption: number;
  readonly outSyscall: number;
  readonly healthFieldCount: number;
  readonly healthOutLength: number;
  readonly healthOutOption: number;
  readonly healthOutSyscall: number;
}

/** setFd, getFd and applyFd over the two arrays one bind() call was given. */
/**
 * A handle that gives no descriptor but a new duplicate of it at every
 * fdForIpc() call (Deno's TCPWrap). The native call that is handed one
 * takes the duplicate and closes it before it returns (SocketArg in
 * src/binding.cc): JavaScript never holds it.
 */
export interface DuplicatingHandle {
  fdForIpc(): number;
}

/**
 * How a native call is told which socket: a descriptor (-1: none, the
 * locator arguments name it, Windows), or a handle it duplicates (Deno).
 */
export type SocketRef = number | DuplicatingHandle;

export interface BoundCalls {
  /** set(fd, request, out) with the bound arrays. */
  setFd(fd: SocketRef): number;
  /** get(fd, out) with the bound out array. */
  getFd(fd: SocketRef): number;
  /** setFd without the read-back: out receives only a failure's option and system call. */
  applyFd(fd: SocketRef): number;
}

export interface NativeBinding {
  readonly capabilities: NativeCapabilities;
  readonly layout: NativeLayout;
  readonly optionNames: readonly string[];
  readonly syscallNames: readonly string[];
  /**
   * Applies `request` (seconds, KEEP for unchanged) to the socket, then reads
   * the state back into `out`. Returns 0, or a negative errno with the failed
   * option and system call in out[Out.Option] and out[Out.Syscall].
   * The locator arguments name the connection where `fd` is -1 (Windows).
   */
  set(
    fd: SocketRef,
    request: Int32Array,
    out: Int32Array,
    localAddress?: string,
    localPort?: number,
    remoteAddress?: string,
    remotePort?: number,
  ): number;
  /**
   * Functions over these request and out arrays (each over its own
   * ArrayBuffer, which V8 never moves). Every call makes new functions that
   * hold their own arrays: a second copy of this package's JavaScript over
   * the same cached addon (jest.resetModules, hot reload) binds its own.
   */
  bind(request: Int32Array, out: Int32Array): BoundCalls;
  /** Reads the socket's state into `out`; returns like set(). */
  get(
    fd: SocketRef,
    out: Int32Array,
    localAddress?: string,
    localPort?: number,
    remoteAddress?: string,
    remotePort?: number,
  ): number;
}

// Health's layout (lib/health.ts), checked with the rest.
/** Health values before the failure slots (Option follows them). */
export const HEALTH_FIELD_COUNT = 14;

export const enum HealthOut {
  Option = 14,
  Syscall = 15,
  Length = 16,
}

/** What lib/ expects of the addon's layout; checkLayout compares. */
export const EXPECTED_LAYOUT: NativeLayout = {
  fieldCount: FIELD_COUNT,
  keep: KEEP,
  outLength: Out.Length,
  outReadMask: Out.ReadMask,
  outOption: Out.Option,
  outSyscall: Out.Syscall,
  healthFieldCount: HEALTH_FIELD_COUNT,
  healthOutLength: HealthOut.Length,
  healthOutOption: HealthOut.Option,
  healthOutSyscall: HealthOut.Syscall,
};

/**
 * The names whose values differ between the addon's layout and this
 * package's (an addon from another version of the package), or none.
 */
export function layoutDrift(native: Partial<NativeLayout> | undefined): string[] {
  const names = Object.keys(EXPECTED_LAYOUT) as (keyof NativeLayout)[];
  return names.filter((name) => native?.[name] !== EXPECTED_LAYOUT[name]);
}

function checkLayout(addon: NativeBinding, file: string): NativeBinding {
  const drift = layoutDrift(addon.layout);
  if (drift.length === 0) return addon;
  const error = new Error(
    `tcp-keepalive: the native addon ${file} does not match this package's JavaScript ` +
      `(layout differs in ${drift.join(', ')}); rebuild it (npm rebuild tcp-keepalive)`,
  ) as Error & { code: string };
  error.code = 'ERR_KEEPALIVE_ADDON_MISMATCH';
  throw error;
}

/**
 * The libc node-gyp-build decides for: LIBC, else musl where
 * /etc/alpine-release exists (Linux), else glibc.
 */
function libcHere(): string {
  return process.env.LIBC || (process.platform === 'linux' && existsSync('/etc/alpine-release') ? 'musl' : 'glibc');
}

/**
 * The prebuild's file name for a libc, in node-gyp-build's tag scheme (the
 * one scripts/build-prebuilds.sh and the GitHub workflow write):
 * tcp-keepalive.musl.node for musl, which node-gyp-build prefers there and
 * never takes elsewhere; tcp-keepalive.node (no tag) otherwise.
 */
export function prebuildName(libc: string): string {
  return libc === 'musl' ? 'tcp-keepalive.musl.node' : 'tcp-keepalive.node';
}

// node-gyp-build ships no types; this is the part of its API used here.
type NodeGypBuild = (dir: string) => unknown;
/**
 * The addon where this package's builds put it (or TCP_KEEPALIVE_ADDON), in node-gyp-build's order
 * (build/Release unless PREBUILDS_ONLY, then this platform's prebuild),
 * loaded directly: node-gyp-build's own loading and directory search cost a
 * few milliseconds of start-up. It still decides, and reports, when neither
 * file loads (another libc, tags, a debug build).
 */
function loadAddon(root: string): { addon: NativeBinding; file: string } {
  // An explicit addon (the sanitizer build, scripts/build-sanitized.sh): that
  // file or an error, never a silent fallback to another build.
  const explicit = process.env.TCP_KEEPALIVE_ADDON;
  if (explicit) return { addon: require(explicit) as NativeBinding, file: explicit };
  const candidates = [join(root, 'prebuilds', `${process.platform}-${process.arch}`, prebuildName(libcHere()))];
  if (!process.env.PREBUILDS_ONLY) candidates.unshift(join(root, 'build', 'Release', 'tcp_keepalive.node'));
  for (const file of candidates) {
    if (!existsSync(file)) continue;
    try {
      return { addon: require(file) as NativeBinding, file };
    } catch {
      break;
    }
  }
  return { addon: (require('node-gyp-build') as NodeGypBuild)(root) as NativeBinding, file: root };
}

const loaded = loadAddon(join(__dirname, '..'));
/** The addon, its layout checked against this package's (ERR_KEEPALIVE_ADDON_MISMATCH). */
export const binding: NativeBinding = checkLayout(loaded.addon, loaded.file);
