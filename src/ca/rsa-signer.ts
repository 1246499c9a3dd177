import { constants, createPrivateKey, privateEncrypt, type KeyObject } from 'node:crypto';
import forge from 'node-forge';

/** DER prefix of the PKCS#1 v1.5 DigestInfo for SHA-256 (RFC 8017 9.2, note 1); the 32-byte digest follows. */
const SHA256_DIGEST_INFO_PREFIX = Buffer.from('3031300d060960864801650304020105000420', 'hex');

/**
 * Returns an object node-forge accepts wherever it wants an RSA private key for `cert.sign`, but that
 * signs with node:crypto (OpenSSL). forge's own pure-JS RSA signing measured ~25 ms per certificate
 * here, which alone would break the "first certificate for a new host well under 20 ms" budget;
 * OpenSSL signs in well under 1 ms. forge hands the signer the finished SHA-256 digest, so this
 * produces a standard RSASSA-PKCS1-v1_5 signature: RSA private-key operation over DigestInfo.
 */
export function createRsaSha256Signer(privateKey: string | KeyObject): forge.pki.rsa.PrivateKey {
  const key = typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey;
  if (key.asymmetricKeyType !== 'rsa') {
    throw new Error(`Certificate signing needs an RSA key, got ${key.asymmetricKeyType ?? 'unknown'}: regenerate the CA key.`);
  }
  const signer = {
    sign(md: forge.md.MessageDigest): string {
      if (md.algorithm !== 'sha256') {
        throw new Error(`Only SHA-256 signatures are supported, got ${md.algorithm}: pass forge.md.sha256.create().`);
      }
      const digest = Buffer.from(md.digest().getBytes(), 'binary');
      const digestInfo = Buffer.concat([SHA256_DIGEST_INFO_PREFIX, digest]);
      return privateEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, digestInfo).toString('binary');
    },
  };
  // forge's typings describe a full jsbn-backed key, but cert.sign() only ever calls key.sign(md).
  return signer as unknown as forge.pki.rsa.PrivateKey;
}
