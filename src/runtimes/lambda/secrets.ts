/** What the deployment's Secrets Manager secret holds (JSON). */
export interface LambdaSecret {
  /** Ed25519 PKCS#8 PEM that signs checkpoints. */
  signingKey: string;
  /** Base64 HMAC key (≥ 32 bytes) for card and request fingerprints, shared by all environments. */
  fingerprintKey: string;
  /** During a key rotation, the previous signing key. */
  previousSigningKey?: string;
}

/**
 * Reads the secret once per execution environment. The SDK client is loaded only here,
 * so environments configured through plain variables (tests, local) never load it.
 */
export async function readLambdaSecret(secretArn: string): Promise<LambdaSecret> {
  const { SecretsManagerClient, GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
  const client = new SecretsManagerClient({});
  try {
    const result = await client.send(new GetSecretValueCommand({ SecretId: secretArn }));
    const parsed = JSON.parse(result.SecretString ?? '{}') as Partial<LambdaSecret>;
    if (typeof parsed.signingKey !== 'string' || typeof parsed.fingerprintKey !== 'string') {
      throw new Error('the signing-key secret must be JSON with "signingKey" (PEM) and "fingerprintKey" (base64)');
    }
    return parsed as LambdaSecret;
  } finally {
    client.destroy();
  }
}
