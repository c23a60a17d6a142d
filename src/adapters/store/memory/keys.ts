import type { ApiKey, KeyStore } from '../../../ports/key-store.js';
import { type MemoryState, copy } from './state.js';

export class MemoryKeyStore implements KeyStore {
  constructor(private readonly state: MemoryState) {}

  async create(key: ApiKey): Promise<void> {
    this.state.assertOpen();
    const clash = this.state.keys.has(key.id) || [...this.state.keys.values()].some((k) => k.secretHash === key.secretHash);
    if (clash) throw new Error('an API key with this id or secret hash already exists');
    this.state.keys.set(key.id, copy(key));
  }

  async findByHash(secretHash: string): Promise<ApiKey | null> {
    this.state.assertOpen();
    const key = [...this.state.keys.values()].find((k) => k.secretHash === secretHash);
    return key ? copy(key) : null;
  }

  async get(id: string): Promise<ApiKey | null> {
    this.state.assertOpen();
    const key = this.state.keys.get(id);
    return key ? copy(key) : null;
  }

  async list(): Promise<ApiKey[]> {
    this.state.assertOpen();
    return [...this.state.keys.values()]
      .sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : 1))
      .map(copy);
  }

  async revoke(id: string, at: string): Promise<ApiKey | null> {
    this.state.assertOpen();
    const key = this.state.keys.get(id);
    if (!key) return null;
    key.revokedAt ??= at;
    return copy(key);
  }
}
