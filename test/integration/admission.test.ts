// Admission of new objects' first runs (src/controller/admission.ts), on an environment of this
// file's own: its controller admits one new object at a time, which the shared one must not.
import * as k8s from '@kubernetes/client-node';
import { shPipeline, type TestApi } from '../support/sample-promise.js';
import { OwnEnvironment } from '../support/own-environment.js';

const api: TestApi = {
  promise: 'admitted',
  group: 'admission.test.kratix.io',
  version: 'v1',
  kind: 'Admitted',
  plural: 'admitteds',
};
// Reports when it ran (milliseconds) and takes a moment, so overlapping runs would show.
const timed = shPipeline('timed', [
  `began=$(date +%s%3N)
sleep 1
echo "began: $began" > /kratix/metadata/status.yaml
echo "ended: $(date +%s%3N)" >> /kratix/metadata/status.yaml`,
]);

describe('admission of new objects', () => {
  const env = new OwnEnvironment(api, 'admission', { admission: { limit: 1, holdMs: 60_000 } });
  const timesOf = (o: { status?: Record<string, unknown> }) => ({
    began: Number(o.status?.began),
    ended: Number(o.status?.ended),
  });

  beforeAll(() => env.start([timed]));
  afterAll(() => env.stop());

  it('starts new objects created at once one after another, each when the one before completed; all complete', async () => {
    const names = ['n1', 'n2', 'n3', 'n4'];
    await Promise.all(names.map((name) => env.create(name, { v: 1 })));
    const runs = (await Promise.all(names.map((n) => env.completed(n, { generation: 1 }))))
      .map(timesOf)
      .sort((a, b) => a.began - b.began);
    for (const r of runs) expect(r.ended).toBeGreaterThan(r.began);
    // One slot: no run began before the one admitted before it had ended.
    for (let i = 1; i < runs.length; i++) expect(runs[i]!.began).toBeGreaterThanOrEqual(runs[i - 1]!.ended);
  });

  it('never holds back changes to objects that already completed', async () => {
    const names = ['n1', 'n2', 'n3', 'n4'];
    const merge = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
    await Promise.all(
      names.map((name) =>
        env.co.patchNamespacedCustomObject({ ...env.coords, name, body: { spec: { v: 2 } } }, merge),
      ),
    );
    const runs = (await Promise.all(names.map((n) => env.completed(n, { generation: 2 })))).map(timesOf);
    // Not admitted one by one: the runs overlap (each takes over a second).
    const firstEnd = Math.min(...runs.map((r) => r.ended));
    expect(runs.filter((r) => r.began < firstEnd).length).toBeGreaterThan(1);
  });
});
