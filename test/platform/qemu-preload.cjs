// Preloaded (node -r) into every Node process of the linux-arm64 run under
// qemu-user (test/platform-arm64.test.ts). This machine has no binfmt_misc,
// so the kernel cannot start an arm64 executable by itself: a test that
// spawns process.execPath (tap runs each test file that way; the fault
// tests run `ip netns exec NS <node> peer.ts`) would get ENOEXEC. Such
// spawns are routed through the emulator, with this preload passed on, so
// every child Node is the same arm64 Node under the same emulator.
// Nothing else changes: other commands (ss, ip, openssl, tcpdump) are host
// binaries and run natively, as they would on an arm64 machine.
'use strict';
const childProcess = require('node:child_process');
const { syncBuiltinESMExports } = require('node:module');
const { promisify } = require('node:util');

const emulator = process.env.TCP_KEEPALIVE_QEMU;
if (!emulator) throw new Error('qemu-preload: TCP_KEEPALIVE_QEMU (the qemu-aarch64 binary) is not set');
const self = process.execPath;

/** [emulator, arm64 node, -r this file] in place of the arm64 node. */
function emulated(rest) {
  const preloaded = rest.some((arg, i) => arg === __filename && rest[i - 1] === '-r');
  return [emulator, self, ...(preloaded ? [] : ['-r', __filename])];
}

function route(file, args) {
  const list = Array.isArray(args) ? args : [];
  if (file === self || file === 'node') {
    const [command, ...prefix] = emulated(list);
    return [command, [...prefix, ...list]];
  }
  // A wrapper that runs Node, such as `ip netns exec NS <node> script`.
  const at = list.indexOf(self);
  if (at < 0) return null;
  const after = list.slice(at + 1);
  return [file, [...list.slice(0, at), ...emulated(after), ...after]];
}

for (const name of ['spawn', 'spawnSync', 'execFile', 'execFileSync']) {
  const original = childProcess[name];
  childProcess[name] = function routed(file, args, ...more) {
    const to = route(file, args);
    if (to) return original.call(this, to[0], to[1], ...more);
    return original.call(this, file, args, ...more);
  };
  // util.promisify(execFile) uses the original's own promise form ({stdout, stderr}).
  const promised = original[promisify.custom];
  if (promised) {
    childProcess[name][promisify.custom] = function routedPromise(file, args, ...more) {
      const to = route(file, args);
      return to ? promised.call(this, to[0], to[1], ...more) : promised.call(this, file, args, ...more);
    };
  }
}
// fork() calls the module's own spawn, not the export: give it the emulator
// as its executable and the arm64 Node as the first argument.
const originalFork = childProcess.fork;
childProcess.fork = function routedFork(modulePath, args, options) {
  if (!Array.isArray(args)) {
    options = args;
    args = [];
  }
  const opts = { ...(options || {}) };
  if (!opts.execPath || opts.execPath === self) {
    const execArgv = opts.execArgv || process.execArgv;
    opts.execPath = emulator;
    opts.execArgv = [...emulated(execArgv).slice(1), ...execArgv];
  }
  return originalFork.call(this, modulePath, args, opts);
};
syncBuiltinESMExports();
