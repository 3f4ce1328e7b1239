// ESM entry of `tcp-keepalive/register` (for `node --import`): loads the
// same CommonJS module as `--require`, so both share one policy.
import { createRequire } from 'node:module';

createRequire(import.meta.url)('./dist/register.js');
