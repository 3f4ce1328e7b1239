// Which JavaScript runtime runs this package: Node.js, or Bun or Deno,
// which load Node-API addons and implement node:net over sockets of their
// own (lib/handle.ts reaches them; docs/platforms.md lists what each gives).
// Read once from process.versions, which each runtime fills in.

/** The runtimes whose sockets this package reaches. */
export type Runtime = 'node' | 'bun' | 'deno';

function detect(): Runtime | null {
  const versions = process.versions as NodeJS.ProcessVersions & { bun?: string; deno?: string };
  if (typeof versions.bun === 'string') return 'bun';
  if (typeof versions.deno === 'string') return 'deno';
  return typeof versions.node === 'string' ? 'node' : null;
}

/** This runtime, or null for one that is none of them (its sockets are not reached). */
export const RUNTIME: Runtime | null = detect();
