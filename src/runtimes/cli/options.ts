import type { Command } from 'commander';
import { type Config, SETTINGS, loadConfig } from '../../config/config.js';

/** Adds a flag for every setting (each also has its PAYLOG_… variable). */
export function withSettings(command: Command, only?: string[]): Command {
  const seen = new Set<string>();
  for (const setting of Object.values(SETTINGS)) {
    if (seen.has(setting.flag) || (only && !only.includes(setting.flag))) continue;
    seen.add(setting.flag);
    if (setting.repeatable) command.option(`--${setting.flag} <value>`, `${setting.description} [${setting.env}]`, (value: string, all: string[] | undefined) => [...(all ?? []), value]);
    else command.option(`--${setting.flag} <value>`, `${setting.description} [${setting.env}]`);
  }
  return command;
}

/** Commander camel-cases flags; the config reads them by flag name. */
export function configFrom(opts: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): Config {
  const flags: Record<string, string | undefined> = {};
  for (const setting of Object.values(SETTINGS)) {
    const value = opts[camel(setting.flag)];
    if (typeof value === 'string') flags[setting.flag] = value;
    else if (Array.isArray(value) && value.length > 0) flags[setting.flag] = value.join('\n');
  }
  return loadConfig(flags, env);
}

/**
 * The flags given, as the PAYLOG_… variables that mean the same (a flag wins over the
 * variable, and so does this over the inherited environment): how `serve --workers` hands its
 * settings to the workers it forks, whose command lines then hold none of them (no store
 * password, nothing else a secret might someday be). A repeated flag's values are joined by
 * newlines, which its variable takes.
 */
export function settingsAsEnv(opts: Record<string, unknown>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const setting of Object.values(SETTINGS)) {
    const value = opts[camel(setting.flag)];
    if (typeof value === 'string') env[setting.env] = value;
    else if (Array.isArray(value) && value.length > 0) env[setting.env] = value.join('\n');
  }
  return env;
}

function camel(flag: string): string {
  return flag.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/** The flags of commands that only need to find the store. */
export const STORE_FLAGS = ['store', 'data-dir', 'journal', 'log-level'];
