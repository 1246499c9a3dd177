/**
 * Regenerates docs/edge-control-openapi.json from the zod schemas:
 * node dist/src/control/protocol/write-openapi.js [output-file]
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderOpenApiDocument } from './openapi.js';

/** Repository root from dist/src/control/protocol (compiled) or src/control/protocol (source). */
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, here.includes(`${path.sep}dist${path.sep}`) ? '../../../..' : '../../..');
const target = path.resolve(process.argv[2] ?? path.join(root, 'docs', 'edge-control-openapi.json'));
fs.mkdirSync(path.dirname(target), { recursive: true });
fs.writeFileSync(target, renderOpenApiDocument());
process.stderr.write(`wrote ${target}\n`);
