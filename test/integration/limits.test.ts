import { createTestNamespace } from '../support/cluster.js';
import {
  applyPromise,
  condition,
  eventsFor,
  promiseFor,
  resources,
  shPipeline,
  uniqueApi,
  waitForPromiseAvailable,
  waitUntil,
} from '../support/promises.js';

const failedEvent = (ns: string, name: string) =>
  waitUntil(`PipelineFailed event on ${name}`, async () =>
    (await eventsFor(ns, name)).find((e) => e.type === 'Warning' && e.reason === 'PipelineFailed'),
  );

describe('limits', () => {
  it('a too-large status.yaml, output file or output total fails the run naming the file and the limit', async () => {
    const api = uniqueApi('sizes');
    // `pad N` prints a ConfigMap document of about N KiB.
    const pad = `pad() { printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata: {name: x}\\ndata: {x: "'; head -c "$(($1 * 1024))" /dev/zero | tr '\\0' a; printf '"}\\n'; }`;
    await applyPromise(
      promiseFor(api, {
        workflows: {
          resource: {
            configure: [
              shPipeline('write', [
                `${pad}
case "$KRATIX_OBJECT_NAME" in
  big-status) printf 'blob: ' > /kratix/metadata/status.yaml; head -c 5000000 /dev/zero | tr '\\0' a >> /kratix/metadata/status.yaml ;;
  big-file) pad 2048 > /kratix/output/big.yaml ;;
  many-files) for i in 1 2 3 4 5 6 7 8 9; do pad 1000 > /kratix/output/f$i.yaml; done ;;
  fine) pad 500 > /kratix/output/fine.yaml; echo "size: fine" > /kratix/metadata/status.yaml ;;
esac`,
              ]),
            ],
          },
        },
      }),
    );
    await waitForPromiseAvailable(api.promise);
    const ns = await createTestNamespace('sizes');
    const rs = resources(api, ns);
    const names = ['big-status', 'big-file', 'many-files', 'fine'];
    await Promise.all(names.map((n) => rs.create(n, {})));
    const [bigStatus, bigFile, manyFiles] = await Promise.all(
      names.slice(0, 3).map((n) => rs.waitFor(n, 'False', 'PipelineFailed')),
    );
    expect(condition(bigStatus!, 'PipelineCompleted')!.message).toBe(
      'Pipeline "write" failed: /kratix/metadata/status.yaml is 4.8 MiB, over the 256 KiB limit for a metadata file',
    );
    expect(condition(bigFile!, 'PipelineCompleted')!.message).toBe(
      'Pipeline "write" failed: output file big.yaml is 2.0 MiB, over the 1 MiB limit for one output file',
    );
    expect(condition(manyFiles!, 'PipelineCompleted')!.message).toMatch(
      /^Pipeline "write" failed: \/kratix\/output holds 8\.8 MiB in 9 files, over the 8 MiB limit for a pipeline's output$/,
    );
    for (const n of names.slice(0, 3)) expect((await failedEvent(ns, n)).message).toContain('limit');
    // Nothing of the refused status reached the object; the Resource within the limits completes.
    expect(bigStatus!.status?.blob).toBeUndefined();
    expect((await rs.waitFor('fine', 'True')).status?.size).toBe('fine');
  });

  it('a Resource with a 253-character name completes (bounded run directory names)', async () => {
    const api = uniqueApi('longname');
    await applyPromise(
      promiseFor(api, {
        workflows: {
          resource: {
            configure: [
              shPipeline('p', [
                'echo "length: ${#KRATIX_OBJECT_NAME}" > /kratix/metadata/status.yaml',
                'printf "apiVersion: v1\\nkind: ConfigMap\\nmetadata: {name: c}\\n" > /kratix/output/c.yaml',
              ]),
            ],
          },
        },
      }),
    );
    await waitForPromiseAvailable(api.promise);
    const ns = await createTestNamespace('longname');
    const rs = resources(api, ns);
    const name = `r${'-x'.repeat(126)}`;
    expect(name).toHaveLength(253);
    await rs.create(name, {});
    const done = await rs.waitFor(name, 'True');
    expect(done.status?.length).toBe(253);
    const events = await eventsFor(ns, name);
    expect(events.map((e) => e.reason)).toEqual(expect.arrayContaining(['ConfigureWorkflowCompleted']));
  });
});
