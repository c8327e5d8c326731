import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * Password hashing with scrypt (node:crypto), stored as a PHC string:
 * `$scrypt$ln=<log2 N>,r=<block size>,p=<parallelism>$<salt>$<hash>` (standard base64, unpadded).
 * The parameters travel with each hash, so they can be raised later: `verifyPassword` reports
 * `needsRehash` and login stores a fresh hash.
 */
export interface ScryptParameters {
  /** log2 of the CPU/memory cost N. */
  ln: number;
  r: number;
  p: number;
}

/**
 * OWASP's scrypt setting for 32 MiB of memory (N=2^15, r=8, p=3; equivalent in cost to its
 * N=2^17, p=1 row), chosen so a 256 MiB function instance hashes without risk of running out.
 */
export const DEFAULT_SCRYPT_PARAMETERS: ScryptParameters = { ln: 15, r: 8, p: 3 };

const SALT_BYTES = 16;
const HASH_BYTES = 32;
const PHC = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]{16,})\$([A-Za-z0-9+/]{16,})$/;

function scryptAsync(password: string, salt: Buffer, keyLength: number, params: ScryptParameters): Promise<Buffer> {
  const N = 2 ** params.ln;
  return new Promise((resolve, reject) => {
    // maxmem must exceed 128·N·r (the default 32 MiB is exactly our setting's need).
    scrypt(password, salt, keyLength, { N, r: params.r, p: params.p, maxmem: 256 * N * params.r }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

/** NFKC first (NIST SP 800-63B): the same password typed on two keyboards must hash the same. */
function normalized(password: string): string {
  return password.normalize('NFKC');
}

function b64(bytes: Buffer): string {
  return bytes.toString('base64').replace(/=+$/, '');
}

export async function hashPassword(password: string, params: ScryptParameters = DEFAULT_SCRYPT_PARAMETERS): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await scryptAsync(normalized(password), salt, HASH_BYTES, params);
  return `$scrypt$ln=${params.ln},r=${params.r},p=${params.p}$${b64(salt)}$${b64(hash)}`;
}

function parsePhc(phc: string): { params: ScryptParameters; salt: Buffer; hash: Buffer } | undefined {
  const match = PHC.exec(phc);
  if (!match) return undefined;
  const params = { ln: Number(match[1]), r: Number(match[2]), p: Number(match[3]) };
  // Bounds keep a corrupted row from asking for gigabytes of memory.
  if (params.ln < 1 || params.ln > 20 || params.r < 1 || params.r > 32 || params.p < 1 || params.p > 16) return undefined;
  return { params, salt: Buffer.from(match[4]!, 'base64'), hash: Buffer.from(match[5]!, 'base64') };
}

export interface PasswordCheck {
  isValid: boolean;
  /** The hash uses other parameters than `current`: store a new one after a successful login. */
  needsRehash: boolean;
}

/**
 * Compares `password` with a stored PHC hash in constant time. An unparseable hash (another
 * algorithm, a corrupted row) is simply not a match.
 */
export async function verifyPassword(phc: string, password: string, current: ScryptParameters = DEFAULT_SCRYPT_PARAMETERS): Promise<PasswordCheck> {
  const parsed = parsePhc(phc);
  if (!parsed) return { isValid: false, needsRehash: true };
  const candidate = await scryptAsync(normalized(password), parsed.salt, parsed.hash.length, parsed.params);
  const isValid = candidate.length === parsed.hash.length && timingSafeEqual(candidate, parsed.hash);
  const { params } = parsed;
  return { isValid, needsRehash: params.ln !== current.ln || params.r !== current.r || params.p !== current.p };
}

const dummyHashes = new Map<string, string>();

/**
 * A hash no password matches, in the shape of a real one with `params`: a random salt and random
 * "hash" bytes. Made without running scrypt, so the first unknown address costs no more than the
 * next (a lazily computed real hash would spend a second scrypt on the first one).
 */
function dummyHash(params: ScryptParameters): string {
  const key = `${params.ln},${params.r},${params.p}`;
  let dummy = dummyHashes.get(key);
  if (!dummy) {
    dummy = `$scrypt$ln=${params.ln},r=${params.r},p=${params.p}$${b64(randomBytes(SALT_BYTES))}$${b64(randomBytes(HASH_BYTES))}`;
    dummyHashes.set(key, dummy);
  }
  return dummy;
}

/**
 * Spends the time of one real verification (one scrypt with the current parameters) and returns
 * false: run it when the email is unknown, so "no such account" and "wrong password" take the same
 * time (and answer the same).
 */
export async function verifyAgainstDummyHash(password: string, current: ScryptParameters = DEFAULT_SCRYPT_PARAMETERS): Promise<false> {
  await verifyPassword(dummyHash(current), password, current);
  return false;
}
