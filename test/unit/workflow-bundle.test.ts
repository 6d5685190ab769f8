import { selectWorkflowBundle, untracedBundlePath } from '../../src/temporal/tracing.js';

describe('prebuilt workflow bundles', () => {
  it('names the untraced twin beside the bundle', () => {
    expect(untracedBundlePath('/app/dist/workflow-bundle.js')).toBe('/app/dist/workflow-bundle.untraced.js');
    expect(untracedBundlePath('/tmp/bundle')).toBe('/tmp/bundle.untraced.js');
  });

  it('runs the untraced twin when tracing is off and it exists', () => {
    const present = new Set(['/b/workflow-bundle.js', '/b/workflow-bundle.untraced.js']);
    const exists = (f: string) => present.has(f);
    expect(selectWorkflowBundle('/b/workflow-bundle.js', false, exists)).toBe(
      '/b/workflow-bundle.untraced.js',
    );
    expect(selectWorkflowBundle('/b/workflow-bundle.js', true, exists)).toBe('/b/workflow-bundle.js');
  });

  it('falls back to the given bundle when it has no twin (built by an older version)', () => {
    expect(selectWorkflowBundle('/b/old.js', false, () => false)).toBe('/b/old.js');
  });
});
