// Copies the web console (plain ES modules, CSS and HTML: no bundler) into dist/web, where
// `paylog serve` serves it at /console.
import { cpSync, mkdirSync, rmSync } from 'node:fs';

rmSync('dist/web', { recursive: true, force: true });
mkdirSync('dist', { recursive: true });
cpSync('web', 'dist/web', { recursive: true, filter: (src) => !/\.(test|spec)\./.test(src) });
