// The line protocol between a script run in node.exe under Wine and its host
// test (test/helpers/wine.ts, runNodeExe): node.exe under Wine cannot write
// to a pipe, so the script writes lines to stdout redirected to a file, and
// the host follows the file. Shared by test/platform/win32-driver.js and
// test/platform/win32-peer.js.
//
//   OK <name>\t<json>        a check made in node.exe passed
//   FAIL <name>\t<json>      ... failed
//   INFO <name>\t<json>      a measured or reported value
//   KERNEL <label>\t<json>   asks the host to act (read the kernel's view of
//                           sockets, cut a network path, ...); the script
//                           waits until the host writes CONTROL_DIR/<label>.done
//   DONE passed=N failed=M
'use strict';
const fs = require('fs');
const path = require('path');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The writer of one script's lines; `controlDir` is where the host answers KERNEL requests. */
function lines(controlDir) {
  let passed = 0;
  let failed = 0;
  return {
    check(name, ok, detail) {
      if (ok) passed++;
      else failed++;
      console.log(`${ok ? 'OK' : 'FAIL'} ${name}\t${JSON.stringify(detail === undefined ? null : detail)}`);
    },
    info(name, value) {
      console.log(`INFO ${name}\t${JSON.stringify(value)}`);
    },
    /** Hands `value` to the host's onKernel(label, value) and waits (bounded, the event loop running) until it is done. */
    async kernel(label, value, limitMs = 120000) {
      console.log(`KERNEL ${label}\t${JSON.stringify(value)}`);
      const done = path.join(controlDir, `${label}.done`);
      const deadline = Date.now() + limitMs;
      while (!fs.existsSync(done)) {
        if (Date.now() > deadline) throw new Error(`the host never answered ${label}`);
        await sleep(50);
      }
    },
    /** Prints DONE and exits soon with 1 if any check failed. */
    finish() {
      console.log(`DONE passed=${passed} failed=${failed}`);
      process.exitCode = failed ? 1 : 0;
      setTimeout(() => process.exit(), 500).unref();
    },
  };
}

module.exports = { lines, sleep };
