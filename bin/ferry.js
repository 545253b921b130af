#!/usr/bin/env node
// The CLI is one bundled file (see build:node): a command starts about 50 ms sooner than
// when Node loads the hundred-odd modules it is made of one by one.
import { main } from '../dist/cli/ferry.bundle.js';

await main(process.argv.slice(2));
