// The baseline: the same work as one configure run of the benchmark's Promise, done by a plain
// script with no orchestration: create the object, read it, run the pipeline process in the same
// sandbox, merge-patch its status, write its output file and git commit + push.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';
import type { KubeObject } from '../../src/core/types.js';
import { sandboxArgs } from '../../src/executors/local.js';

const run = promisify(execFile);

export interface ScriptTarget {
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespace: string;
}

export class StraightScript {
  private readonly clone: string;

  constructor(
    private readonly co: k8s.CustomObjectsApi,
    private readonly target: ScriptTarget,
    /** The pipeline container's command (sh -ec script). */
    private readonly argv: string[],
    private readonly repo: string,
    private readonly workDir: string,
  ) {
    this.clone = path.join(workDir, 'clone');
  }

  /** A clone of the state store to commit in (once, outside the measurement). */
  async prepare(): Promise<void> {
    if (existsSync(this.clone)) return;
    await run('git', ['clone', '-q', this.repo, this.clone]);
    await run('git', ['-C', this.clone, 'config', 'user.name', 'bench']);
    await run('git', ['-C', this.clone, 'config', 'user.email', 'bench@localhost']);
  }

  /** One Resource, start to finish; returns its latency in ms. */
  async reconcile(name: string): Promise<number> {
    const t0 = performance.now();
    const { group, version, kind, plural, namespace } = this.target;
    await this.co.createNamespacedCustomObject({
      group,
      version,
      plural,
      namespace,
      body: { apiVersion: `${group}/${version}`, kind, metadata: { name }, spec: { script: true } },
    });
    const obj = (await this.co.getNamespacedCustomObject({
      group,
      version,
      plural,
      namespace,
      name,
    })) as KubeObject;

    const dir = path.join(this.workDir, name);
    const dirs = {
      input: path.join(dir, 'input'),
      output: path.join(dir, 'output'),
      metadata: path.join(dir, 'metadata'),
      kubeconfig: path.join(dir, 'kubeconfig'),
    };
    for (const d of [dirs.input, dirs.output, dirs.metadata]) mkdirSync(d, { recursive: true });
    writeFileSync(dirs.kubeconfig, '');
    writeFileSync(path.join(dirs.input, 'object.yaml'), stringify(obj));
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(
        'bwrap',
        sandboxArgs(dirs, { argv: this.argv, env: { KRATIX_OBJECT_NAME: name } }, { withMetadata: true }),
        { stdio: 'ignore' },
      );
      child.once('error', reject);
      child.once('exit', (c) => resolve(c));
    });
    if (code !== 0) throw new Error(`pipeline exited with ${code}`);

    const status = parse(readFileSync(path.join(dirs.metadata, 'status.yaml'), 'utf8')) as object;
    await this.co.patchNamespacedCustomObjectStatus(
      {
        group,
        version,
        plural,
        namespace,
        name,
        body: {
          status: {
            ...status,
            conditions: [
              {
                type: 'PipelineCompleted',
                status: 'True',
                reason: 'PipelineExecutedSuccessfully',
                message: 'Pipeline completed',
                lastTransitionTime: new Date().toISOString(),
              },
            ],
          },
        },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );

    const out = path.join(this.clone, 'script', namespace, name);
    mkdirSync(out, { recursive: true });
    writeFileSync(path.join(out, 'cm.yaml'), readFileSync(path.join(dirs.output, 'cm.yaml')));
    await run('git', ['-C', this.clone, 'add', '-A']);
    await run('git', ['-C', this.clone, 'commit', '-q', '-m', `script ${name}`]);
    await run('git', ['-C', this.clone, 'push', '-q', 'origin', 'HEAD:main']);
    const ms = performance.now() - t0;
    rmSync(dir, { recursive: true, force: true });
    return ms;
  }
}
