import { Type } from '@sinclair/typebox';
import { AMOUNT_MAX, AMOUNT_MIN } from '../../core/money.js';
import { ERROR_TYPES } from '../../core/errors.js';
import { RECORD_TYPES } from '../../core/audit-record.js';
import { MERCHANT_REFERENCE_CHARS_MAX } from '../../app/validate-payment.js';

const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);

export const CardInput = Type.Object({
  number: Type.String({ pattern: '^[0-9]{12,19}$', description: '12–19 digits, no spaces' }),
  expMonth: Type.Integer({ minimum: 1, maximum: 12 }),
  expYear: Type.Integer({ minimum: 1000, maximum: 9999 }),
  cvc: Type.String({ pattern: '^[0-9]{3,4}$', description: '3 digits, 4 for American Express' }),
}, { additionalProperties: false });

export const PaymentRequestBody = Type.Object({
  amount: Type.Integer({ minimum: AMOUNT_MIN, maximum: AMOUNT_MAX, description: 'in the currency’s minor unit' }),
  currency: Type.String({ pattern: '^[A-Za-z]{3}$', description: 'ISO 4217 code, any case' }),
  paymentMethod: Type.Object({ type: Type.Literal('card'), card: CardInput }, { additionalProperties: false }),
  description: Type.Optional(Type.String({ maxLength: 500 })),
  merchantReference: Type.Optional(Type.String({ maxLength: MERCHANT_REFERENCE_CHARS_MAX })),
  // TypeBox's Record matches keys with '^(.*)$', which a key holding a line break escapes (and its
  // value with it): every key is matched, and keys with control characters are refused.
  metadata: Type.Optional(Type.Record(Type.String({ pattern: '^[\\s\\S]*$' }), Type.String({ maxLength: 500 }), {
    maxProperties: 50, propertyNames: { minLength: 1, maxLength: 40, pattern: '^[^\\u0000-\\u001f\\u007f\\u2028\\u2029]*$' },
  })),
}, { additionalProperties: false });

export const MaskedCardSchema = Type.Object({
  brand: Type.String(), bin: Type.String(), last4: Type.String(),
  expMonth: Type.Integer(), expYear: Type.Integer(), fingerprint: Type.String(),
});

export const AuditPointerSchema = Type.Object({ stream: Type.String(), seq: Type.Integer(), hash: Type.String() });

export const PaymentSchema = Type.Object({
  id: Type.String(),
  object: Type.Literal('payment'),
  status: Type.Union([Type.Literal('processing'), Type.Literal('succeeded'), Type.Literal('declined'), Type.Literal('failed')]),
  amount: Type.Integer(),
  currency: Type.String(),
  merchantId: Type.String(),
  card: MaskedCardSchema,
  attempts: Type.Integer(),
  declineCode: Nullable(Type.String()),
  failureCode: Nullable(Type.String()),
  description: Nullable(Type.String()),
  merchantReference: Nullable(Type.String()),
  metadata: Type.Record(Type.String(), Type.String()),
  createdAt: Type.String(),
  updatedAt: Type.String(),
  audit: Type.Union([AuditPointerSchema, Type.Null()]),
}, { $id: 'Payment' });

export const ErrorSchema = Type.Object({
  error: Type.Object({
    type: Type.Union(ERROR_TYPES.map((t) => Type.Literal(t))),
    code: Type.String(),
    declineCode: Type.Optional(Type.String()),
    message: Type.String(),
    param: Type.Optional(Type.String()),
    requestId: Type.String(),
    payment: Type.Optional(Type.Ref('Payment')),
  }),
}, { $id: 'Error' });

export const PaymentListSchema = Type.Object({ data: Type.Array(Type.Ref('Payment')), hasMore: Type.Boolean() });

export const ListQuery = Type.Object({
  // Query values arrive as strings and type coercion is off (it would also coerce bodies), so limit is checked by hand.
  limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,3}$', description: '1–100, default 10' })),
  startingAfter: Type.Optional(Type.String({ maxLength: 64 })),
  status: Type.Optional(Type.Union([Type.Literal('processing'), Type.Literal('succeeded'), Type.Literal('declined'), Type.Literal('failed')])),
  merchantReference: Type.Optional(Type.String({ minLength: 1, maxLength: MERCHANT_REFERENCE_CHARS_MAX, description: 'exact match' })),
}, { additionalProperties: false });

export const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

export const RecordSchema = Type.Object({
  v: Type.Literal(1), journal: Type.String(), stream: Type.String(), seq: Type.Integer(), prev: Type.String(), ts: Type.String(),
  type: Type.Union(RECORD_TYPES.map((t) => Type.Literal(t))), actor: Type.String(),
  origin: Type.Object({ requestId: Nullable(Type.String()), traceId: Nullable(Type.String()), ip: Nullable(Type.String()) }),
  resource: Nullable(Type.String()), outcome: Type.String(), reason: Nullable(Type.String()),
  data: Type.Record(Type.String(), Type.Unknown()), hash: Type.String(),
});

export const EventListSchema = Type.Object({
  data: Type.Array(RecordSchema),
  hasMore: Type.Boolean({ description: 'more records follow: ask again with startingAfter naming the last one' }),
});

export const EventPageQuery = Type.Object({
  limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,3}$', description: '1–100, default 100' })),
  startingAfter: Type.Optional(Type.String({ maxLength: 64, description: "the last record received, as '<stream>:<seq>'" })),
}, { additionalProperties: false });

export const CheckpointSchema = Type.Object({
  stream: Type.String(), size: Type.Integer(), root: Type.String(), note: Type.String({ description: 'C2SP tlog-checkpoint signed note' }), createdAt: Type.String(),
});

export const JournalCheckpointSchema = Type.Object({
  journal: Type.String(), origin: Type.String(), size: Type.Integer(), root: Type.String(),
  note: Type.String({ description: "the journal tree's C2SP checkpoint, with the witnesses' cosignature lines" }),
  cosignatures: Type.Array(Type.String()),
});

export const CheckpointListSchema = Type.Object({
  data: Type.Array(CheckpointSchema),
  journal: Type.Union([JournalCheckpointSchema, Type.Null()], { description: 'the journal tree: the one log witnesses cosign' }),
});

export const JournalConsistencySchema = Type.Object({
  journal: Type.String(), from: Type.Integer(), to: Type.Integer(), proof: Type.Array(Type.String()),
});

export const ProofSchema = Type.Object({
  payment: Type.String(),
  journal: Type.String(),
  proofs: Type.Array(Type.Object({
    record: RecordSchema,
    leafIndex: Type.Integer(),
    proof: Type.Array(Type.String(), { description: 'hex RFC 6962 audit path, bottom up' }),
    treeSize: Type.Integer(),
    checkpoint: Type.String({ description: 'the signed note the proof leads to' }),
    journalLeaf: Type.Optional(Type.Object({
      index: Type.Integer({ description: "the checkpoint's leaf index in the journal tree" }),
      proof: Type.Array(Type.String(), { description: 'hex RFC 6962 audit path to the journal tree checkpoint, bottom up' }),
      checkpoint: Type.String({ description: "the journal tree's checkpoint note, with the witnesses' cosignature lines" }),
    }, { description: 'where the checkpoint sits in the journal tree (absent until it joins it)' })),
  })),
  pending: Type.Array(RecordSchema, { description: 'records not yet covered by a checkpoint of their stream' }),
  hasMore: Type.Boolean({ description: 'more records follow: ask again with startingAfter naming the last one' }),
});

export const ConsistencySchema = Type.Object({
  stream: Type.String(), from: Type.Integer(), to: Type.Integer(), proof: Type.Array(Type.String()),
});
