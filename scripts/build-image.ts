/**
 * Builds the kratix-temporal image (controller, worker and pipeline helper; the Dockerfile's
 * contents) without Docker, as a single-layer OCI archive (src/infra/app-image.ts):
 *
 *   npm run image [-- --out kratix-temporal.tar] [--name registry.example.com/kratix-temporal:0.1.0]
 *
 * Prints the archive path, its size and the build time. Load it into `dev --node` with
 * `kratix-temporal images load <archive>`, or push it with any OCI tool (`skopeo copy
 * oci-archive:<archive> docker://…`, `crane push <archive> …`).
 */
import { copyFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { APP_IMAGE, buildAppImage } from '../src/infra/app-image.js';

const { values } = parseArgs({ options: { out: { type: 'string' }, name: { type: 'string' } } });
const t0 = Date.now();
const image = await buildAppImage({
  name: values.name ?? APP_IMAGE,
  log: (m) => console.error(`[image] ${m}`),
});
let archive = image.archive;
if (values.out) {
  archive = path.resolve(values.out);
  copyFileSync(image.archive, archive);
}
console.log(`image:   ${image.name}`);
console.log(`archive: ${archive}`);
console.log(`size:    ${(image.bytes / 1024 / 1024).toFixed(0)} MiB (uncompressed single layer)`);
console.log(`built in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
