#!/usr/bin/env node
// Entry point: load TypeScript sources through tsx (no build step), then hand over to the CLI.
import { register } from 'tsx/esm/api';
register();
await import('../cli/main.ts');
