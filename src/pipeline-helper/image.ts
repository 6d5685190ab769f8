// The pipeline-helper image: Node and the bundled helper (src/pipeline-helper/main.ts), the input and
// collect containers of every pipeline Pod. No registry is involved on the dev/test node: the
// project builds this image locally and imports it into the node's containerd (`localhost/` name).
// A real install points `worker --helper-image` at the image it pushed.
import { execFileSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PROJECT_VERSION } from '../package-root.js';
import type { OciArchive, RootfsEntry } from '../infra/oci-image.js';

export const PIPELINE_HELPER_IMAGE = `localhost/kratix-temporal/pipeline-helper:${PROJECT_VERSION}`;

/** The helper as one ES module with its dependencies (esbuild, at image build time). */
export async function bundleHelper(): Promise<string> {
  const { build } = await import('esbuild');
  const entry = fileURLToPath(new URL('./main.ts', import.meta.url));
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    write: false,
    minify: true,
    legalComments: 'none',
  });
  return result.outputFiles[0]!.text;
}

/** The shared libraries (from ldd) a dynamically linked executable needs. */
export function sharedLibraries(executable: string): string[] {
  return execFileSync('ldd', [executable], { encoding: 'utf8' })
    .split('\n')
    .map((l) => /(\/\S+) \(0x/.exec(l)?.[1])
    .filter((p): p is string => !!p);
}

/** Library entries at their own paths, one per path, for any number of executables. */
export function libraryEntries(executables: string[]): RootfsEntry[] {
  const libs = [...new Set(executables.flatMap(sharedLibraries))];
  return libs.map((lib): RootfsEntry => ({
    path: lib,
    type: 'file',
    source: realpathSync(lib),
    mode: 0o755,
  }));
}

/** The running Node binary and the shared libraries it needs (from ldd), at the same paths. */
export function nodeRuntime(): RootfsEntry[] {
  const node = realpathSync(process.execPath);
  return [{ path: 'usr/local/bin/node', type: 'file', source: node, mode: 0o755 }, ...libraryEntries([node])];
}

export async function buildPipelineHelperImage(): Promise<OciArchive> {
  const { buildImage } = await import('../infra/images.js');
  return buildImage({
    name: PIPELINE_HELPER_IMAGE,
    rootfs: [
      ...nodeRuntime(),
      { path: 'app/pipeline-helper.mjs', type: 'file', content: await bundleHelper(), mode: 0o644 },
      {
        path: 'etc/passwd',
        type: 'file',
        content: 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/:/sbin/nologin\n',
      },
      { path: 'etc/group', type: 'file', content: 'root:x:0:\nnonroot:x:65532:\n' },
      { path: 'tmp', type: 'dir', mode: 0o1777 },
    ],
    entrypoint: ['/usr/local/bin/node', '/app/pipeline-helper.mjs'],
    user: '65532:65532',
  });
}
