import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { userInfo } from 'node:os';
import path from 'node:path';
import { freePort } from '../../src/infra/ports.js';
import { waitFor } from '../../src/infra/wait.js';

/**
 * A real git server over ssh: OpenSSH's sshd (Debian openssh-server) on a loopback port with its
 * own host key and one authorized client key; git runs `git-upload-pack`/`git-receive-pack` as the
 * current user on the bare repositories.
 */
export class GitSshServer {
  private proc?: ChildProcess;
  port = 0;
  readonly user = userInfo().username;
  /** The client's private key (what goes into the GitStateStore Secret as sshPrivateKey). */
  clientKey = '';
  /** The client's public key ("ssh-ed25519 AAAA..."), a valid key that is not this server's. */
  clientPublicKey = '';
  /** known_hosts lines for this server (what goes into the Secret as knownHosts). */
  knownHosts = '';

  constructor(private readonly dir: string) {}

  async start(): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    const key = (name: string) => {
      const file = path.join(this.dir, name);
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', file]);
      return file;
    };
    const hostKey = key('host_ed25519');
    const clientKey = key('client_ed25519');
    this.clientKey = readFileSync(clientKey, 'utf8');
    this.clientPublicKey = readFileSync(`${clientKey}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
    writeFileSync(path.join(this.dir, 'authorized_keys'), readFileSync(`${clientKey}.pub`));
    this.port = await freePort();
    const hostPub = readFileSync(`${hostKey}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
    this.knownHosts = `[127.0.0.1]:${this.port} ${hostPub}\n`;
    const config = path.join(this.dir, 'sshd_config');
    writeFileSync(
      config,
      [
        `Port ${this.port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${hostKey}`,
        `AuthorizedKeysFile ${path.join(this.dir, 'authorized_keys')}`,
        `PidFile ${path.join(this.dir, 'sshd.pid')}`,
        'PubkeyAuthentication yes',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'PermitRootLogin prohibit-password',
        'StrictModes no',
        'UsePAM no',
        '',
      ].join('\n'),
    );
    // sshd refuses to start without its privilege-separation directory.
    if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    this.proc = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    this.proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const proc = this.proc;
    await waitFor(
      'sshd to accept connections',
      async () => {
        if (proc.exitCode !== null) throw new Error(`sshd exited: ${stderr.trim()}`);
        return (await accepts(this.port)) || undefined;
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
  }

  /** ssh:// url of a repository path on this server. */
  url(repoPath: string): string {
    return `ssh://${this.user}@127.0.0.1:${this.port}${repoPath}`;
  }

  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGTERM');
    });
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
