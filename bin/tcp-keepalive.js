#!/usr/bin/env node
// The tcp-keepalive command; the code is in lib/cli.ts (compiled to dist/).
'use strict';
require('../dist/cli.js')
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  });
