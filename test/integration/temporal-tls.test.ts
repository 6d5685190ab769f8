import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, Worker } from '@temporalio/worker';
import {
  connectTemporalClient,
  connectTemporalWorker,
  resolveTemporalConnection,
  type TemporalConnectionConfig,
} from '../../src/temporal/connection.js';
import { runCli } from '../support/cli.js';
import { testKubeconfigPath } from '../support/cluster.js';
import { startTlsTemporal, type TlsTemporal } from '../support/tls-temporal.js';

/** No TEMPORAL_* variables of the machine: each test says what it sets. */
const noEnv = {};

describe('Temporal over TLS and mTLS', () => {
  let dir: string;
  let t: TlsTemporal;
  let workflowCode: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'kratix-temporal-tls-'));
    const [started, bundle] = await Promise.all([
      startTlsTemporal(dir),
      bundleWorkflowCode({
        workflowsPath: fileURLToPath(new URL('../fixtures/ping-workflows.ts', import.meta.url)),
        logger: new DefaultLogger('WARN'),
      }),
    ]);
    t = started;
    workflowCode = bundle.code;
  });

  afterAll(async () => {
    await t?.stop();
    if (dir && !process.env.KRATIX_TEST_KEEP) rmSync(dir, { recursive: true, force: true });
  });

  /** A worker and a client both made from `config` run the ping workflow. */
  async function ping(config: TemporalConnectionConfig): Promise<string> {
    const taskQueue = `ping-${randomUUID()}`;
    const workerConnection = await connectTemporalWorker(config);
    const clientConnection = await connectTemporalClient(config);
    try {
      const worker = await Worker.create({
        connection: workerConnection,
        namespace: config.namespace,
        taskQueue,
        workflowBundle: { code: workflowCode },
      });
      const client = new Client({ connection: clientConnection, namespace: config.namespace });
      return await worker.runUntil(
        client.workflow.execute('ping', { taskQueue, workflowId: taskQueue, args: ['over tls'] }),
      );
    } finally {
      await clientConnection.close();
      await workerConnection.close();
    }
  }

  it('runs a workflow with the CA and a server name override from the flags', async () => {
    const config = resolveTemporalConnection(
      { temporalAddress: t.tlsAddress, temporalTlsCa: t.ca, temporalTlsServerName: 'temporal.test' },
      noEnv,
    );
    expect(await ping(config)).toBe('pong over tls');
  });

  it('runs a workflow over mTLS configured by the Temporal environment variables', async () => {
    const config = resolveTemporalConnection(
      {},
      {
        TEMPORAL_ADDRESS: t.mtlsAddress,
        TEMPORAL_NAMESPACE: t.namespace,
        TEMPORAL_TLS_SERVER_CA_CERT_PATH: t.ca,
        TEMPORAL_TLS_CLIENT_CERT_PATH: t.client.cert,
        TEMPORAL_TLS_CLIENT_KEY_PATH: t.client.key,
      },
    );
    expect(await ping(config)).toBe('pong over tls');
  });

  it("fails clearly without the server's CA", async () => {
    const config = resolveTemporalConnection(
      { temporalAddress: t.tlsAddress, temporalTlsServerName: 'temporal.test' },
      noEnv,
    );
    const hint = /not signed by a CA this machine trusts: give its CA with --temporal-tls-ca/;
    await expect(connectTemporalWorker(config)).rejects.toThrow(hint);
    await expect(connectTemporalClient(config, { connectTimeout: 3000 })).rejects.toThrow(hint);
    // And with the wrong name the certificate is refused as well.
    const wrongName = resolveTemporalConnection(
      { temporalAddress: t.tlsAddress, temporalTlsCa: t.ca },
      noEnv,
    );
    await expect(connectTemporalWorker(wrongName)).rejects.toThrow(/set --temporal-tls-server-name/);
  });

  it('is refused by a server requiring mTLS without a client certificate, or with one it does not trust', async () => {
    const noCert = resolveTemporalConnection({ temporalAddress: t.mtlsAddress, temporalTlsCa: t.ca }, noEnv);
    const required = /(requires|may require) a client certificate \(mTLS\): give --temporal-tls-cert/;
    await expect(connectTemporalWorker(noCert)).rejects.toThrow(required);
    await expect(connectTemporalClient(noCert, { connectTimeout: 3000 })).rejects.toThrow(required);

    const stranger = t.otherCa.issue('stranger', { subject: '/CN=stranger', usage: 'clientAuth' });
    const untrusted = resolveTemporalConnection(
      {
        temporalAddress: t.mtlsAddress,
        temporalTlsCa: t.ca,
        temporalTlsCert: stranger.cert,
        temporalTlsKey: stranger.key,
      },
      noEnv,
    );
    // A server that checks after the handshake (like this one) just closes the connection.
    const refused = /(refused|may not accept) the client certificate .*stranger\.crt/;
    await expect(connectTemporalWorker(untrusted)).rejects.toThrow(refused);
    await expect(connectTemporalClient(untrusted, { connectTimeout: 3000 })).rejects.toThrow(refused);
  });

  it('connects the CLI from its flags, and names the flag of a missing key file', async () => {
    const tlsFlags = ['--temporal-address', t.mtlsAddress, '--temporal-tls-ca', t.ca];
    const installArgs = ['install', '--kubeconfig', testKubeconfigPath(), '--no-rbac', ...tlsFlags];
    const ok = await runCli([
      ...installArgs,
      '--temporal-tls-cert',
      t.client.cert,
      '--temporal-tls-key',
      t.client.key,
    ]);
    expect(ok).toMatchObject({ code: 0 }); // shows stderr when it fails
    expect(ok.stdout).toContain(`search attributes already present in Temporal namespace ${t.namespace}`);

    const missing = path.join(dir, 'missing.key');
    const failed = await runCli([
      ...installArgs,
      '--temporal-tls-cert',
      t.client.cert,
      '--temporal-tls-key',
      missing,
    ]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(
      `cannot read the TLS client key ${missing} (set by --temporal-tls-key): no such file`,
    );
  });
});
