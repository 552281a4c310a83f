#!/usr/bin/env node
// The `aep-audience` command: runs the TypeScript CLI through tsx, so a clone needs no build step.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// The project runs on Node 24, the Lambda runtime's major, installed by `npm ci` (the `node` devDependency).
// npm scripts and npx put it first on the PATH; a bare `./bin/aep-audience.js` under an older system Node
// hands over to it rather than running on a Node the project does not support.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  const projectNode = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url));
  if (!existsSync(projectNode)) {
    process.stderr.write(`aep-audience needs Node 24 (this is ${process.version}): run 'npm ci' first\n`);
    process.exit(2);
  }
  const child = spawnSync(projectNode, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
  process.exit(child.status ?? 1);
}

const { register } = await import('tsx/esm/api');
register();
const { main } = await import('../local/cli.ts');
process.exitCode = await main(process.argv.slice(2));
