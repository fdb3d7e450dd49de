#!/usr/bin/env node
// Thin launcher: all logic lives in src/cli/townhall.ts (compiled to dist/).
import { runTownhall } from '../dist/src/cli/townhall.js';

process.exitCode = await runTownhall(process.argv.slice(2));
