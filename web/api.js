// The API, with the key from sessionStorage in the Authorization header: the key is never put
// in a URL, never logged, and forgotten when the tab closes.

const KEY = 'paylog.apiKey';
const ROLE = 'paylog.role';
const VERIFIER = 'paylog.verifierKey';

export const session = {
  get key() { return sessionStorage.getItem(KEY); },
  get role() { return sessionStorage.getItem(ROLE); },
  get verifierKey() { return sessionStorage.getItem(VERIFIER) ?? ''; },
  set verifierKey(value) { sessionStorage.setItem(VERIFIER, value); },
  signIn(key, role) {
    sessionStorage.setItem(KEY, key);
    sessionStorage.setItem(ROLE, role);
  },
  signOut() {
    sessionStorage.removeItem(KEY);
    sessionStorage.removeItem(ROLE);
  },
};

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.error?.code ?? null;
  }
}

/** GET a /v1 path (with its query already encoded); the key is the signed-in one unless given. */
export async function get(path, key = session.key) {
  const res = await fetch(path, { headers: { authorization: `Bearer ${key}`, accept: 'application/json' }, cache: 'no-store', credentials: 'omit' });
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, body);
  return body;
}

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const text = q.toString();
  return text === '' ? '' : `?${text}`;
}
