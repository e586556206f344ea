/**
 * What the browser tests share: Debian's Chromium driven by playwright-core (never a downloaded
 * browser), the flags this closed network needs, and a small static file server on loopback.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize, sep } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);

/** Without the background-networking flags Chromium keeps trying to reach Google's hosts. */
export const FLAGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
};

/** The content type a static host gives a file. */
export function contentType(file: string): string {
  return TYPES[extname(file)] ?? 'application/octet-stream';
}

/** `rel` inside `dir`, if it names a file there (never a path that climbs out of it). */
export function fileIn(dir: string, rel: string): string | null {
  const f = normalize(join(dir, rel));
  return f.startsWith(dir + sep) && existsSync(f) && statSync(f).isFile() ? f : null;
}

/** What a request path is answered with: a file, a body, or 404 (`null`). */
export type Answer =
  | { file: string; headers?: Record<string, string> }
  | { body: string | Buffer; type: string; headers?: Record<string, string> }
  | null;

export interface Served {
  server: Server;
  /** `http://127.0.0.1:PORT` */
  origin: string;
  close(): Promise<void>;
}

/** A server on an ephemeral loopback port answering each decoded path with `answer(path)`. */
export function serve(answer: (path: string) => Answer): Promise<Served> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const a = answer(path);
    if (a === null) {
      res.writeHead(path === '/favicon.ico' ? 204 : 404).end();
      return;
    }
    const [body, type] = 'file' in a ? [readFileSync(a.file), contentType(a.file)] : [a.body, a.type];
    res.writeHead(200, { ...a.headers, 'content-type': type });
    res.end(body);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        server,
        origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: () => new Promise<void>((r) => server.close(() => r())),
      }),
    ),
  );
}

/** Serves a folder as a static host serves a build (`index.html` for a folder). */
export function serveDir(dir: string): Promise<Served> {
  return serve((path) => {
    const file = fileIn(dir, path.endsWith('/') ? `${path}index.html` : path);
    return file === null ? null : { file };
  });
}

/** Debian's Chromium, headless, on a fresh profile; `close()` also removes the profile. */
export async function launch(
  options: { args?: readonly string[]; viewport?: { width: number; height: number } } = {},
): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'downhill-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...FLAGS, ...(options.args ?? [])],
    ...(options.viewport ? { viewport: options.viewport } : {}),
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
