/** One configurable setting: its flag, its environment variable, its default and its parser. */
export interface Setting<T> {
  flag: string;
  env: string;
  description: string;
  default: T | ((partial: Record<string, unknown>) => T);
  parse: (raw: string) => T;
  /** Never echoed in error messages. */
  secret?: boolean;
  /**
   * A secret that must not be given as a flag: any user of the machine reads a command line
   * (ps, /proc/<pid>/cmdline), and `serve --workers` would pass it on. The flag is refused with
   * this alternative, e.g. "PAYLOG_SIGNING_KEY or --signing-key-file".
   */
  refusedOnCommandLine?: string;
  /** With refusedOnCommandLine: refuse only a flag value this says holds a secret (a store URL's password). */
  holdsSecret?: (raw: string) => boolean;
  /** The flag may be given several times; its values reach `parse` joined by newlines. */
  repeatable?: boolean;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** The one-line refusal of a secret given as a flag. */
export function secretFlagError(env: string, flag: string, instead: string): ConfigError {
  return new ConfigError(`${env} (--${flag}): refused on the command line, where every user of this machine can read it (ps); use ${instead}`);
}

/** A parse failure says what was expected; the loader adds which setting it was. */
export class InvalidValue extends Error {}

export function integer(min: number, max: number) {
  return (raw: string): number => {
    if (!/^-?\d+$/.test(raw.trim())) throw new InvalidValue(`must be a whole number from ${min} to ${max}`);
    const value = Number(raw);
    if (!Number.isSafeInteger(value) || value < min || value > max) throw new InvalidValue(`must be a whole number from ${min} to ${max}`);
    return value;
  };
}

export function oneOf<T extends string>(...values: T[]) {
  return (raw: string): T => {
    if (!(values as string[]).includes(raw)) throw new InvalidValue(`must be one of ${values.join(', ')}`);
    return raw as T;
  };
}

export function nonEmpty(raw: string): string {
  if (raw.trim() === '') throw new InvalidValue('must not be empty');
  return raw;
}

export function pattern(re: RegExp, what: string) {
  return (raw: string): string => {
    if (!re.test(raw)) throw new InvalidValue(`must be ${what}`);
    return raw;
  };
}

/** An Ed25519 private key in PKCS#8 PEM (checked for shape here, for type when loaded). */
export function pemPrivateKey(raw: string): string {
  if (!/-----BEGIN PRIVATE KEY-----[\s\S]+-----END PRIVATE KEY-----/.test(raw)) throw new InvalidValue('must be a PKCS#8 PEM private key');
  return raw;
}
