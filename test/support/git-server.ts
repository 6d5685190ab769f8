import { spawn, execFileSync } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A real git server over the smart HTTP protocol: `git http-backend` (Debian's git) behind a small
 * loopback HTTP server with basic auth. Repositories are bare repos under `root`.
 */
export class GitHttpServer {
  private server?: http.Server;
  url = '';
  /** Current credentials; change them to simulate a rotated token. */
  users = new Map<string, string>();

  constructor(private readonly root: string) {}

  async start(): Promise<void> {
    const backend = `${execFileSync('git', ['--exec-path'], { encoding: 'utf8' }).trim()}/git-http-backend`;
    this.server = http.createServer((req, res) => {
      const auth = req.headers.authorization;
      const [user, pass] = auth?.startsWith('Basic ')
        ? Buffer.from(auth.slice(6), 'base64').toString('utf8').split(':')
        : [];
      if (!user || this.users.get(user) !== pass) {
        res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"' });
        res.end('unauthorized');
        return;
      }
      const url = new URL(req.url ?? '/', 'http://localhost');
      const cgi = spawn(backend, [], {
        env: {
          GIT_PROJECT_ROOT: this.root,
          GIT_HTTP_EXPORT_ALL: '1',
          REMOTE_USER: user,
          REQUEST_METHOD: req.method ?? 'GET',
          PATH_INFO: decodeURIComponent(url.pathname),
          QUERY_STRING: url.search.slice(1),
          CONTENT_TYPE: req.headers['content-type'] ?? '',
          CONTENT_LENGTH: req.headers['content-length'] ?? '',
          HTTP_CONTENT_ENCODING: req.headers['content-encoding'] ?? '',
          GIT_HTTP_MAX_REQUEST_BUFFER: '100M',
        },
      });
      req.pipe(cgi.stdin);
      let head = Buffer.alloc(0);
      let headersDone = false;
      cgi.stdout.on('data', (chunk: Buffer) => {
        if (headersDone) return void res.write(chunk);
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        headersDone = true;
        let status = 200;
        const headers: Record<string, string> = {};
        for (const line of head.subarray(0, end).toString('utf8').split('\r\n')) {
          const i = line.indexOf(':');
          const k = line.slice(0, i).trim();
          const v = line.slice(i + 1).trim();
          if (k.toLowerCase() === 'status') status = Number(v.split(' ')[0]);
          else headers[k] = v;
        }
        res.writeHead(status, headers);
        res.write(head.subarray(end + 4));
      });
      cgi.stdout.on('end', () => res.end());
      cgi.on('error', () => res.destroy());
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }
}

/** A bare repository under `root` (allows pushes over HTTP). */
export function createBareRepo(root: string, name: string): string {
  const dir = `${root}/${name}`;
  execFileSync('git', ['init', '-q', '--bare', '--initial-branch=main', dir]);
  execFileSync('git', ['-C', dir, 'config', 'http.receivepack', 'true']);
  return dir;
}
