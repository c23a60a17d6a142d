import type { LedgerCall, LedgerEntry, RecordedCall } from '../../../ports/gateway-ledger.js';

/**
 * What GatewayLedger.recordCall does to an entry, for stores that read and write it in one
 * transaction (memory, SQLite's write thread). PostgreSQL and DynamoDB say the same in one
 * conditional statement; the contract suite holds them all to it.
 */
export function applyCall(previous: LedgerEntry | null, call: LedgerCall): RecordedCall {
  const entry: LedgerEntry = previous
    ? { ...previous, calls: previous.calls + 1, updatedAt: call.at }
    : {
        gatewayKey: call.gatewayKey, calls: 1, outcome: null, code: null, declineCode: null, authorizationCode: null,
        amount: call.amount, currency: call.currency, createdAt: call.at, updatedAt: call.at,
      };
  if (call.settle === null || entry.outcome !== null || entry.calls < call.settleFromCall) return { entry, settled: false };
  return { entry: { ...entry, ...call.settle }, settled: true };
}
