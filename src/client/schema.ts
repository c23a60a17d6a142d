// Generated from docs/openapi.json by `npm run openapi` (scripts/client-schema.mjs): do not edit.
export interface paths {
    "/healthz": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Liveness: the process answers */
        get: operations["getHealth"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/readyz": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Readiness: the store answers */
        get: operations["getReadiness"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/payments": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List payments, newest first */
        get: operations["listPayments"];
        put?: never;
        /** Create a payment */
        post: operations["createPayment"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/payments/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Read a payment */
        get: operations["getPayment"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/payments/{id}/events": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** A payment's audit records, in order, with their hashes (paged) */
        get: operations["listPaymentEvents"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/payments/{id}/proof": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Inclusion proofs of a payment's audit records against signed checkpoints (a receipt to keep) */
        get: operations["getPaymentProof"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/audit/streams/{stream}/consistency": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** RFC 6962 consistency proof between two sizes of a stream's tree (for witnesses) */
        get: operations["getStreamConsistency"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/audit/checkpoints": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The latest signed checkpoint of every journal stream, and the journal tree's with its cosignatures */
        get: operations["listCheckpoints"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/audit/journal/consistency": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** RFC 6962 consistency proof between two sizes of the journal tree (for witnesses) */
        get: operations["getJournalConsistency"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/payments/stats": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Payments per minute by status over the last hour */
        get: operations["getPaymentStats"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        Payment: {
            id: string;
            /** @enum {string} */
            object: "payment";
            status: "processing" | "succeeded" | "declined" | "failed";
            amount: number;
            currency: string;
            merchantId: string;
            card: {
                brand: string;
                bin: string;
                last4: string;
                expMonth: number;
                expYear: number;
                fingerprint: string;
            };
            attempts: number;
            declineCode: string | null;
            failureCode: string | null;
            description: string | null;
            merchantReference: string | null;
            metadata: {
                [key: string]: string;
            };
            createdAt: string;
            updatedAt: string;
            audit: {
                stream: string;
                seq: number;
                hash: string;
            } | null;
        };
        Error: {
            error: {
                type: "invalid_request_error" | "authentication_error" | "card_error" | "idempotency_error" | "rate_limit_error" | "api_error";
                code: string;
                declineCode?: string;
                message: string;
                param?: string;
                requestId: string;
                payment?: components["schemas"]["Payment"];
            };
        };
    };
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    getHealth: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Alive */
            200: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        status: string;
                    };
                };
            };
        };
    };
    getReadiness: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Ready */
            200: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        status: string;
                    };
                };
            };
            /** @description The store does not answer */
            503: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        status: string;
                    };
                };
            };
        };
    };
    listPayments: {
        parameters: {
            query?: {
                /** @description 1–100, default 10 */
                limit?: string;
                startingAfter?: string;
                status?: "processing" | "succeeded" | "declined" | "failed";
                /** @description exact match */
                merchantReference?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of payments */
            200: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        data: components["schemas"]["Payment"][];
                        hasMore: boolean;
                    };
                };
            };
            /** @description A parameter has an invalid value. / The request has a parameter this API does not accept. */
            400: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No API key provided. Send Authorization: Bearer <secret key>. / The API key provided is not valid. / The API key provided has been revoked. */
            401: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description This API key's role may not use this route. */
            403: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Too many requests for this API key. Retry after the time in Retry-After. / Too many failed authentications from this address. Retry after the time in Retry-After. */
            429: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    /** @description Seconds to wait before retrying. */
                    "Retry-After"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An internal error occurred. */
            500: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The journal store is unavailable. Nothing was recorded or charged; retry later. */
            503: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    /** @description Seconds to wait before retrying. */
                    "Retry-After"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    createPayment: {
        parameters: {
            query?: never;
            header?: {
                "idempotency-key"?: string;
                traceparent?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    /** @description in the currency’s minor unit */
                    amount: number;
                    /** @description ISO 4217 code, any case */
                    currency: string;
                    paymentMethod: {
                        /** @enum {string} */
                        type: "card";
                        card: {
                            /** @description 12–19 digits, no spaces */
                            number: string;
                            expMonth: number;
                            expYear: number;
                            /** @description 3 digits, 4 for American Express */
                            cvc: string;
                        };
                    };
                    description?: string;
                    merchantReference?: string;
                    metadata?: {
                        [key: string]: string;
                    };
                };
            };
        };
        responses: {
            /** @description The payment succeeded (or the stored response of an earlier request with this Idempotency-Key). */
            201: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    /** @description The payment's URL. */
                    Location?: string;
                    /** @description Sent when this is the stored response of an earlier request with the same Idempotency-Key, replayed as it was. */
                    "Idempotent-Replayed"?: "true";
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Payment"];
                };
            };
            /** @description The gateway has not answered for certain: the payment is processing and will be reconciled. Read it again later. */
            202: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    /** @description The payment's URL. */
                    Location?: string;
                    /** @description Sent when this is the stored response of an earlier request with the same Idempotency-Key, replayed as it was. */
                    "Idempotent-Replayed"?: "true";
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Payment"];
                };
            };
            /** @description A parameter has an invalid value. / A required parameter is missing. / The request has a parameter this API does not accept. / The request body is not valid JSON. / Idempotency-Key must be 1 to 255 printable ASCII characters. */
            400: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    /** @description Sent when this is the stored response of an earlier request with the same Idempotency-Key, replayed as it was. */
                    "Idempotent-Replayed"?: "true";
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No API key provided. Send Authorization: Bearer <secret key>. / The API key provided is not valid. / The API key provided has been revoked. */
            401: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    /** @description Sent when this is the stored response of an earlier request with the same Idempotency-Key, replayed as it was. */
                    "Idempotent-Replayed"?: "true";
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The card was declined. / The card number is incorrect. / The card has expired. / The card's security code is incorrect. / An error occurred while processing the card. */
            402: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    /** @description Sent when this is the stored response of an earlier request with the same Idempotency-Key, replayed as it was. */
                    "Idempotent-Replayed"?: "true";
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description This API key's role may not use this route. */
            403: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    /** @description Sent when this is the stored response of an earlier request with the same Idempotency-Key, replayed as it was. */
                    "Idempotent-Replayed"?: "true";
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description A request with this Idempotency-Key is still being processed. Retry after it finishes. */
            409: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    /** @description Sent when this is the stored response of an earlier request with the same Idempotency-Key, replayed as it was. */
                    "Idempotent-Replayed"?: "true";
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The request body is larger than 16 KiB. */
            413: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    /** @description Sent when this is the stored response of an earlier request with the same Idempotency-Key, replayed as it was. */
                    "Idempotent-Replayed"?: "true";
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The request body must be sent as application/json. */
            415: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    /** @description Sent when this is the stored response of an earlier request with the same Idempotency-Key, replayed as it was. */
                    "Idempotent-Replayed"?: "true";
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description This Idempotency-Key was already used with a different request body. */
            422: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    /** @description Sent when this is the stored response of an earlier request with the same Idempotency-Key, replayed as it was. */
                    "Idempotent-Replayed"?: "true";
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Too many requests for this API key. Retry after the time in Retry-After. / Too many failed authentications from this address. Retry after the time in Retry-After. */
            429: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    /** @description Seconds to wait before retrying. */
                    "Retry-After"?: string;
                    /** @description Sent when this is the stored response of an earlier request with the same Idempotency-Key, replayed as it was. */
                    "Idempotent-Replayed"?: "true";
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An internal error occurred. */
            500: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    /** @description Sent when this is the stored response of an earlier request with the same Idempotency-Key, replayed as it was. */
                    "Idempotent-Replayed"?: "true";
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The journal store is unavailable. Nothing was recorded or charged; retry later. / The card gateway is unavailable. The card was not charged; retry later. / The service is at capacity. Retry later. */
            503: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    /** @description Seconds to wait before retrying. */
                    "Retry-After"?: string;
                    /** @description Sent when this is the stored response of an earlier request with the same Idempotency-Key, replayed as it was. */
                    "Idempotent-Replayed"?: "true";
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getPayment: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The payment */
            200: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Payment"];
                };
            };
            /** @description A parameter has an invalid value. */
            400: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No API key provided. Send Authorization: Bearer <secret key>. / The API key provided is not valid. / The API key provided has been revoked. */
            401: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description This API key's role may not use this route. */
            403: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No such resource. */
            404: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Too many requests for this API key. Retry after the time in Retry-After. / Too many failed authentications from this address. Retry after the time in Retry-After. */
            429: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    /** @description Seconds to wait before retrying. */
                    "Retry-After"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An internal error occurred. */
            500: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The journal store is unavailable. Nothing was recorded or charged; retry later. */
            503: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    /** @description Seconds to wait before retrying. */
                    "Retry-After"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    listPaymentEvents: {
        parameters: {
            query?: {
                /** @description 1–100, default 100 */
                limit?: string;
                /** @description the last record received, as '<stream>:<seq>' */
                startingAfter?: string;
            };
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of the records */
            200: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        data: {
                            /** @enum {number} */
                            v: 1;
                            journal: string;
                            stream: string;
                            seq: number;
                            prev: string;
                            ts: string;
                            type: "journal.started" | "journal.checkpoint" | "journal.stopped" | "journal.sealed" | "journal.key_rotated" | "payment.received" | "payment.attempted" | "payment.succeeded" | "payment.declined" | "payment.failed" | "payment.processing" | "payment.reconciled" | "request.rejected" | "auth.failed" | "idempotency.replayed" | "idempotency.conflict" | "idempotency.purged" | "key.created" | "key.revoked" | "audit.read";
                            actor: string;
                            origin: {
                                requestId: string | null;
                                traceId: string | null;
                                ip: string | null;
                            };
                            resource: string | null;
                            outcome: string;
                            reason: string | null;
                            data: {
                                [key: string]: unknown;
                            };
                            hash: string;
                        }[];
                        /** @description more records follow: ask again with startingAfter naming the last one */
                        hasMore: boolean;
                    };
                };
            };
            /** @description A parameter has an invalid value. / The request has a parameter this API does not accept. */
            400: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No API key provided. Send Authorization: Bearer <secret key>. / The API key provided is not valid. / The API key provided has been revoked. */
            401: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description This API key's role may not use this route. */
            403: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No such resource. */
            404: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Too many requests for this API key. Retry after the time in Retry-After. / Too many failed authentications from this address. Retry after the time in Retry-After. */
            429: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    /** @description Seconds to wait before retrying. */
                    "Retry-After"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An internal error occurred. */
            500: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The journal store is unavailable. Nothing was recorded or charged; retry later. / The service is at capacity. Retry later. */
            503: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    /** @description Seconds to wait before retrying. */
                    "Retry-After"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getPaymentProof: {
        parameters: {
            query?: {
                /** @description 1–100, default 100 */
                limit?: string;
                /** @description the last record received, as '<stream>:<seq>' */
                startingAfter?: string;
            };
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of proofs */
            200: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        payment: string;
                        journal: string;
                        proofs: {
                            record: {
                                /** @enum {number} */
                                v: 1;
                                journal: string;
                                stream: string;
                                seq: number;
                                prev: string;
                                ts: string;
                                type: "journal.started" | "journal.checkpoint" | "journal.stopped" | "journal.sealed" | "journal.key_rotated" | "payment.received" | "payment.attempted" | "payment.succeeded" | "payment.declined" | "payment.failed" | "payment.processing" | "payment.reconciled" | "request.rejected" | "auth.failed" | "idempotency.replayed" | "idempotency.conflict" | "idempotency.purged" | "key.created" | "key.revoked" | "audit.read";
                                actor: string;
                                origin: {
                                    requestId: string | null;
                                    traceId: string | null;
                                    ip: string | null;
                                };
                                resource: string | null;
                                outcome: string;
                                reason: string | null;
                                data: {
                                    [key: string]: unknown;
                                };
                                hash: string;
                            };
                            leafIndex: number;
                            /** @description hex RFC 6962 audit path, bottom up */
                            proof: string[];
                            treeSize: number;
                            /** @description the signed note the proof leads to */
                            checkpoint: string;
                            /** @description where the checkpoint sits in the journal tree (absent until it joins it) */
                            journalLeaf?: {
                                /** @description the checkpoint's leaf index in the journal tree */
                                index: number;
                                /** @description hex RFC 6962 audit path to the journal tree checkpoint, bottom up */
                                proof: string[];
                                /** @description the journal tree's checkpoint note, with the witnesses' cosignature lines */
                                checkpoint: string;
                            };
                        }[];
                        /** @description records not yet covered by a checkpoint of their stream */
                        pending: {
                            /** @enum {number} */
                            v: 1;
                            journal: string;
                            stream: string;
                            seq: number;
                            prev: string;
                            ts: string;
                            type: "journal.started" | "journal.checkpoint" | "journal.stopped" | "journal.sealed" | "journal.key_rotated" | "payment.received" | "payment.attempted" | "payment.succeeded" | "payment.declined" | "payment.failed" | "payment.processing" | "payment.reconciled" | "request.rejected" | "auth.failed" | "idempotency.replayed" | "idempotency.conflict" | "idempotency.purged" | "key.created" | "key.revoked" | "audit.read";
                            actor: string;
                            origin: {
                                requestId: string | null;
                                traceId: string | null;
                                ip: string | null;
                            };
                            resource: string | null;
                            outcome: string;
                            reason: string | null;
                            data: {
                                [key: string]: unknown;
                            };
                            hash: string;
                        }[];
                        /** @description more records follow: ask again with startingAfter naming the last one */
                        hasMore: boolean;
                    };
                };
            };
            /** @description A parameter has an invalid value. / The request has a parameter this API does not accept. */
            400: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No API key provided. Send Authorization: Bearer <secret key>. / The API key provided is not valid. / The API key provided has been revoked. */
            401: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description This API key's role may not use this route. */
            403: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No such resource. */
            404: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Too many requests for this API key. Retry after the time in Retry-After. / Too many failed authentications from this address. Retry after the time in Retry-After. */
            429: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    /** @description Seconds to wait before retrying. */
                    "Retry-After"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An internal error occurred. */
            500: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The journal store is unavailable. Nothing was recorded or charged; retry later. / The service is at capacity. Retry later. */
            503: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    /** @description Seconds to wait before retrying. */
                    "Retry-After"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getStreamConsistency: {
        parameters: {
            query: {
                from: string;
                to: string;
            };
            header?: never;
            path: {
                stream: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The proof */
            200: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        stream: string;
                        from: number;
                        to: number;
                        proof: string[];
                    };
                };
            };
            /** @description A parameter has an invalid value. / The request has a parameter this API does not accept. */
            400: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No API key provided. Send Authorization: Bearer <secret key>. / The API key provided is not valid. / The API key provided has been revoked. */
            401: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description This API key's role may not use this route. */
            403: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No such resource. */
            404: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Too many requests for this API key. Retry after the time in Retry-After. / Too many failed authentications from this address. Retry after the time in Retry-After. */
            429: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    /** @description Seconds to wait before retrying. */
                    "Retry-After"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An internal error occurred. */
            500: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The journal store is unavailable. Nothing was recorded or charged; retry later. / The service is at capacity. Retry later. */
            503: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    /** @description Seconds to wait before retrying. */
                    "Retry-After"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    listCheckpoints: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The checkpoints */
            200: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        data: {
                            stream: string;
                            size: number;
                            root: string;
                            /** @description C2SP tlog-checkpoint signed note */
                            note: string;
                            createdAt: string;
                        }[];
                        /** @description the journal tree: the one log witnesses cosign */
                        journal: {
                            journal: string;
                            origin: string;
                            size: number;
                            root: string;
                            /** @description the journal tree's C2SP checkpoint, with the witnesses' cosignature lines */
                            note: string;
                            cosignatures: string[];
                        } | null;
                    };
                };
            };
            /** @description No API key provided. Send Authorization: Bearer <secret key>. / The API key provided is not valid. / The API key provided has been revoked. */
            401: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description This API key's role may not use this route. */
            403: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Too many requests for this API key. Retry after the time in Retry-After. / Too many failed authentications from this address. Retry after the time in Retry-After. */
            429: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    /** @description Seconds to wait before retrying. */
                    "Retry-After"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An internal error occurred. */
            500: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The journal store is unavailable. Nothing was recorded or charged; retry later. / The service is at capacity. Retry later. */
            503: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    /** @description Seconds to wait before retrying. */
                    "Retry-After"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getJournalConsistency: {
        parameters: {
            query: {
                from: string;
                to: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The proof */
            200: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        journal: string;
                        from: number;
                        to: number;
                        proof: string[];
                    };
                };
            };
            /** @description A parameter has an invalid value. / The request has a parameter this API does not accept. */
            400: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No API key provided. Send Authorization: Bearer <secret key>. / The API key provided is not valid. / The API key provided has been revoked. */
            401: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description This API key's role may not use this route. */
            403: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Too many requests for this API key. Retry after the time in Retry-After. / Too many failed authentications from this address. Retry after the time in Retry-After. */
            429: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    /** @description Seconds to wait before retrying. */
                    "Retry-After"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An internal error occurred. */
            500: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The journal store is unavailable. Nothing was recorded or charged; retry later. / The service is at capacity. Retry later. */
            503: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    /** @description Seconds to wait before retrying. */
                    "Retry-After"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getPaymentStats: {
        parameters: {
            query?: {
                window?: "1h";
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The counts */
            200: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @enum {string} */
                        window: "1h";
                        /** @description start of the oldest minute (inclusive) */
                        from: string;
                        /** @description end of the newest minute (exclusive); the newest minute is the current one */
                        to: string;
                        minutes: {
                            minute: string;
                            succeeded: number;
                            declined: number;
                            failed: number;
                            processing: number;
                        }[];
                        total: {
                            succeeded: number;
                            declined: number;
                            failed: number;
                            processing: number;
                        };
                        /** @description more than 10,000 payments in the window: the oldest were not counted */
                        truncated: boolean;
                    };
                };
            };
            /** @description A parameter has an invalid value. / The request has a parameter this API does not accept. */
            400: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No API key provided. Send Authorization: Bearer <secret key>. / The API key provided is not valid. / The API key provided has been revoked. */
            401: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description This API key's role may not use this route. */
            403: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Too many requests for this API key. Retry after the time in Retry-After. / Too many failed authentications from this address. Retry after the time in Retry-After. */
            429: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    /** @description Seconds to wait before retrying. */
                    "Retry-After"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An internal error occurred. */
            500: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The journal store is unavailable. Nothing was recorded or charged; retry later. */
            503: {
                headers: {
                    /** @description This request's ID, also in every error body: quote it when asking about a request. */
                    "Request-Id"?: string;
                    /** @description Seconds to wait before retrying. */
                    "Retry-After"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
}
/** The error codes of each error type, as the document's error examples name them. */
export interface errorCodes {
    "api_error": "gateway_unavailable" | "internal_error" | "overloaded" | "store_unavailable";
    "authentication_error": "api_key_invalid" | "api_key_missing" | "api_key_revoked" | "forbidden_role";
    "card_error": "card_declined" | "expired_card" | "incorrect_cvc" | "incorrect_number" | "processing_error";
    "idempotency_error": "idempotency_key_in_use" | "idempotency_key_reused";
    "invalid_request_error": "body_invalid_json" | "body_too_large" | "idempotency_key_invalid" | "parameter_invalid" | "parameter_missing" | "parameter_unknown" | "resource_missing" | "unsupported_media_type";
    "rate_limit_error": "rate_limited" | "too_many_auth_failures";
}
