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

export interface NativeBinding {
  readonly capabilities: NativeCapabilities;
  readonly optionNames: readonly string[];
  readonly syscallNames: readonly string[];
  /**
   * Applies `request` (seconds, KEEP for unchanged) to the socket, then reads
   * the state back into `out`. Returns 0, or a negative errno with the failed
   * option and system call in out[Out.Option] and out[Out.Syscall].
   * The locator arguments name the connection where `fd` is -1 (Windows).
   */
  set(
    fd: number,
    request: Int32Array,
    out: Int32Array,
    localAddress?: string,
    localPort?: number,
    remoteAddress?: string,
    remotePort?: number,
  ): number;
  /**
   * Registers this thread's request and out arrays (each over its own
   * ArrayBuffer, which V8 never moves) for setFd, getFd and applyFd.
   */
  bind(request: Int32Array, out: Int32Array): void;
  /** set(fd, request, out) with the arrays given to bind(). */
  setFd(fd: number): number;
  /** get(fd, out) with the array given to bind(). */
  getFd(fd: number): number;
  /** setFd without the read-back: out receives only a failure's option and system call. */
  applyFd(fd: number): number;
  /** Reads the socket's state into `out`; returns like set(). */
  get(
    fd: number,
    out: Int32Array,
    localAddress?: string,
    localPort?: number,
    remoteAddress?: string,
    remotePort?: number,
  ): number;
}

// node-gyp-build ships no types; this is the part of its API used here.
type NodeGypBuild = (dir: string) => unknown;
/**
 * The addon where this package's builds put it, in node-gyp-build's order
 * (build/Release unless PREBUILDS_ONLY, then this platform's prebuild),
 * loaded directly: node-gyp-build's own loading and directory search cost a
 * few milliseconds of start-up. It still decides, and reports, when neither
 * file loads (another libc, tags, a debug build).
 */
function loadAddon(root: string): NativeBinding {
  const candidates = [join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'tcp-keepalive.node')];
  if (!process.env.PREBUILDS_ONLY) candidates.unshift(join(root, 'build', 'Release', 'tcp_keepalive.node'));
  for (const file of candidates) {
    if (!existsSync(file)) continue;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      return require(file) as NativeBinding;
    } catch {
      break;
    }
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('node-gyp-build') as NodeGypBuild)(root) as NativeBinding;
}

export const binding = loadAddon(join(__dirname, '..'));
