import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';

/**
 * The web console's static files at /console. The page holds no data of its own (everything
 * comes from the API with the key the user signs in with), so these routes need no key and sit
 * outside the authenticated /v1 scope, like /healthz.
 *
 * The files are read once, when the app is built: a request can only name a file that existed
 * then (no path from a URL ever reaches the file system), and serving costs no disk read.
 */
export const CONSOLE_CSP = [
  "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'",
  "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'",
].join('; ');

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};
/** A bound on what is held in memory: the console is a few small files. */
const CONSOLE_FILES_MAX = 50;
const CONSOLE_FILE_BYTES_MAX = 1024 * 1024;

/**
 * Where the built console is: dist/web beside the compiled runtime, or the sources in web/
 * when the app runs from src/ (tests); the console is plain ES modules, so both serve as is.
 */
function consoleDir(): string | null {
  const candidates = [new URL('../../../web/', import.meta.url), new URL('../../../../web/', import.meta.url)];
  for (const candidate of candidates) {
    const dir = fileURLToPath(candidate);
    if (existsSync(join(dir, 'index.html'))) return dir;
  }
  return null;
}

interface StaticFile { body: Buffer; contentType: string }

function loadFiles(dir: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  for (const name of readdirSync(dir).sort()) {
    const contentType = CONTENT_TYPES[extname(name)];
    const path = join(dir, name);
    if (contentType === undefined || !/^[a-z0-9][a-z0-9._-]*$/.test(name) || !statSync(path).isFile()) continue;
    if (files.size >= CONSOLE_FILES_MAX) throw new Error(`the console has more than ${CONSOLE_FILES_MAX} files (${dir})`);
    const body = readFileSync(path);
    if (body.length > CONSOLE_FILE_BYTES_MAX) throw new Error(`console file ${name} is larger than ${CONSOLE_FILE_BYTES_MAX} bytes`);
    files.set(name, { body, contentType });
  }
  return files;
}

function send(reply: FastifyReply, file: StaticFile): FastifyReply {
  return reply
    .header('Content-Type', file.contentType)
    .header('Content-Security-Policy', CONSOLE_CSP)
    .header('X-Content-Type-Options', 'nosniff')
    .header('Referrer-Policy', 'no-referrer')
    .header('X-Frame-Options', 'DENY')
    // Served from memory and small: always revalidate, so a new release is seen at once.
    .header('Cache-Control', 'no-cache')
    .send(file.body);
}

/** Registers /console (a redirect), /console/ (the page) and /console/<file>. Without built files (the Lambda bundle), none. */
export function registerConsole(app: FastifyInstance, dir: string | null = consoleDir()): void {
  if (dir === null) return;
  const files = loadFiles(dir);
  const index = files.get('index.html');
  if (index === undefined) return;
  app.get('/console', { schema: { hide: true } }, async (_request, reply) => reply.redirect('/console/', 301));
  app.get('/console/', { schema: { hide: true } }, async (_request, reply) => send(reply, index));
  app.get('/console/:file', { schema: { hide: true } }, async (request, reply) => {
    const file = files.get((request.params as { file: string }).file);
    if (file === undefined) {
      return reply.code(404).header('Content-Type', 'text/plain; charset=utf-8').header('X-Content-Type-Options', 'nosniff').send('Not found\n');
    }
    return send(reply, file);
  });
}
