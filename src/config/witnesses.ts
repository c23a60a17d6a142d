import { parseCosignerKey } from '../core/cosignature.js';
import { InvalidValue } from './settings.js';

/** A witness paylog pushes the journal tree's checkpoints to (PAYLOG_WITNESS). */
export interface WitnessEndpoint {
  /** The witness's submission prefix, without a trailing slash: paylog POSTs to `<url>/add-checkpoint`. */
  url: string;
  /** Its cosignature/v1 verifier key, `<name>+<hex key ID>+<base64(0x04 ‖ key)>`. */
  key: string;
  /** The key's name: what its cosignature lines and the metric's `witness` dimension carry. */
  name: string;
}

/**
 * Witnesses one process pushes to: each costs a request per journal checkpoint and a line on
 * the stored checkpoint (which keeps at most 32), and names a metric dimension value.
 */
export const WITNESSES_MAX = 16;

const SYNTAX = 'each witness must be "<URL> <verifier key>" (http or https URL, cosignature/v1 key), several separated by commas or newlines';

/**
 * Parses PAYLOG_WITNESS / --witness: entries `<URL> <verifier key>`, separated by commas or
 * newlines (a repeated flag comes as its values joined by newlines). A URL holds neither a
 * space nor, here, a comma, and a key neither: the split is unambiguous.
 */
export function parseWitnesses(raw: string): WitnessEndpoint[] {
  const entries = raw.split(/[\n,]/).map((e) => e.trim()).filter((e) => e !== '');
  if (entries.length > WITNESSES_MAX) throw new InvalidValue(`must name at most ${WITNESSES_MAX} witnesses`);
  const out: WitnessEndpoint[] = [];
  for (const entry of entries) {
    const parts = entry.split(/\s+/);
    if (parts.length !== 2) throw new InvalidValue(`${SYNTAX}; ${JSON.stringify(entry.slice(0, 80))} has ${parts.length} part(s)`);
    const [urlText = '', key = ''] = parts;
    const url = submissionPrefix(urlText);
    let name: string;
    try {
      name = parseCosignerKey(key).name;
    } catch (err) {
      throw new InvalidValue(`the verifier key of witness ${url} is not a cosignature/v1 key <name>+<hex key ID>+<base64(0x04 ‖ Ed25519 key)>: ${err instanceof Error ? err.message : 'invalid'}`);
    }
    if (out.some((w) => w.url === url)) throw new InvalidValue(`witness ${url} is named twice`);
    const sameName = out.find((w) => w.name === name);
    if (sameName) throw new InvalidValue(`witnesses ${sameName.url} and ${url} have the same key name "${name}"; each needs its own (it names the witness in cosignatures and metrics)`);
    out.push({ url, key, name });
  }
  return out;
}

function submissionPrefix(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidValue(`${SYNTAX}; the first part of an entry is not a URL`);
  }
  // Checked first and never echoed: the URL is logged with every warning.
  if (url.username !== '' || url.password !== '') throw new InvalidValue('a witness URL must not carry credentials');
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidValue(`a witness URL must be http or https, not ${url.protocol.slice(0, 20)}`);
  // A query or fragment cannot prefix the add-checkpoint path.
  if (url.search !== '' || url.hash !== '') throw new InvalidValue(`witness URL ${url.origin}${url.pathname} must have no query or fragment`);
  return url.href.replace(/\/+$/, '');
}
