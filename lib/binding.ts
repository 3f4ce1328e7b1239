// The native binding (src/binding.cc) and its one typed interface. Loaded
// with node-gyp-build: a prebuild from prebuilds/<platform>-<arch>/ when one
// matches, else build/Release from a source build.
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
// eslint-disable-next-line @typescript-eslint/no-require-imports
const load = require('node-gyp-build') as NodeGypBuild;

export const binding = load(join(__dirname, '..')) as NativeBinding;
