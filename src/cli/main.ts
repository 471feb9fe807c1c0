#!/usr/bin/env node
import { runCli } from './program.js';

// Exit explicitly: `serve` and `watch` end on a signal with nothing left to wait for, and an
// exit code must not depend on whether some library left a timer running.
process.exit(await runCli(process.argv));
