/**
 * SCRAM-SHA-256 (RFC 5802, RFC 7677) with tls-exporter channel binding (RFC 9266), for
 * both ends of a Ferry login. The messages are the RFC's exact text so that a third-party
 * client can be written with nothing but a hash library:
 *
 *   client-first  gs2-header + 'n=' saslname ',r=' cnonce      gs2-header: 'p=tls-exporter,,' or 'n,,'
 *   server-first  'r=' cnonce+snonce ',s=' base64(salt) ',i=' iterations
 *   client-final  'c=' base64(gs2-header + binding) ',r=' nonce ',p=' base64(ClientProof)
 *   server-final  'v=' base64(ServerSignature)
 *
 * The password is NFKC-normalised (a pragmatic subset of SASLprep) before PBKDF2.
 * The server stores only StoredKey and ServerKey (a ScramVerifier), never the password.
 */
import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { z } from 'zod';
import { FerryError } from '../common/errors.js';

export const DEFAULT_ITERATIONS = 600_000;
export const MIN_ITERATIONS = 4_096;
export const MAX_ITERATIONS = 10_000_000;

/** Base64 strings; this is all the server stores. */
export interface ScramVerifier {
  readonly salt: string;
  readonly iterations: number;
  readonly storedKey: string;
  readonly serverKey: string;
}

/** What a client may cache instead of the password (base64 strings). */
export interface ScramClientKeys {
  readonly salt: string;
  readonly iterations: number;
  readonly clientKey: string;
  readonly serverKey: string;
}

/** ScramClientKeys as read back from a file a client keeps them in (never trusted unchecked). */
export const ScramClientKeysSchema = z.object({
  salt: z.string().min(1).max(1024),
  iterations: z.number().int().positive(),
  clientKey: z.string().min(1).max(1024),
  serverKey: z.string().min(1).max(1024),
});

export type ClientCredential = { readonly password: string } | { readonly keys: ScramClientKeys };

export interface ScramServerOptions {
  /** Returns the stored verifier, or null for an unknown user. */
  lookup(user: string): ScramVerifier | null | Promise<ScramVerifier | null>;
  /** Secret used to derive a stable fake salt for unknown users, so user names cannot be probed. */
  fakeSaltSecret: Buffer;
  /** tls-exporter data of this connection, or null on plain TCP. */
  channelBinding: Buffer | null;
}

const CHANNEL_BINDING_TYPE = 'tls-exporter';
const GS2_BOUND = `p=${CHANNEL_BINDING_TYPE},,`;
const GS2_PLAIN = 'n,,';
const SALT_BYTES = 16;
const NONCE_BYTES = 24;
const KEY_BYTES = 32;
/** No legitimate SCRAM message comes near this; it bounds the work a peer can cause. */
const MAX_MESSAGE_LENGTH = 4096;

// ---- crypto primitives --------------------------------------------------------------

function hmac(key: Buffer, data: string | Buffer): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

function sha256(data: Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

/** Async so that a 600,000-iteration derivation does not block the event loop. */
function saltedPassword(password: string, salt: Buffer, iterations: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    pbkdf2(password.normalize('NFKC'), salt, iterations, KEY_BYTES, 'sha256', (err, key) => {
      if (err) reject(err);
      else resolve(key);
    });
  });
}

function checkIterations(iterations: number): void {
  if (!Number.isSafeInteger(iterations) || iterations < MIN_ITERATIONS || iterations > MAX_ITERATIONS) {
    throw new FerryError('EINVAL', `SCRAM iterations must be an integer from ${MIN_ITERATIONS} to ${MAX_ITERATIONS}`);
  }
}

/** A new verifier for `password` with a random 16-byte salt. */
export async function createVerifier(password: string, iterations: number = DEFAULT_ITERATIONS): Promise<ScramVerifier> {
  checkIterations(iterations);
  const salt = randomBytes(SALT_BYTES);
  const salted = await saltedPassword(password, salt, iterations);
  return {
    salt: salt.toString('base64'),
    iterations,
    storedKey: sha256(hmac(salted, 'Client Key')).toString('base64'),
    serverKey: hmac(salted, 'Server Key').toString('base64'),
  };
}

/** The keys a client needs for one salt and iteration count (the expensive PBKDF2 step). */
export async function deriveClientKeys(password: string, salt: string, iterations: number): Promise<ScramClientKeys> {
  checkIterations(iterations);
  const saltBytes = decodeBase64(salt);
  if (saltBytes === null || saltBytes.length === 0) throw new FerryError('EINVAL', 'the SCRAM salt is not base64');
  const salted = await saltedPassword(password, saltBytes, iterations);
  return {
    salt,
    iterations,
    clientKey: hmac(salted, 'Client Key').toString('base64'),
    serverKey: hmac(salted, 'Server Key').toString('base64'),
  };
}

/** RFC 9266 channel binding data of an established TLS connection. */
export function tlsExporterBinding(socket: TLSSocket): Buffer {
  // RFC 9266: tls-exporter is only sound on TLS 1.3 (or 1.2 with extended master secret,
  // which Node cannot report), so refuse anything else rather than bind to something weak.
  const protocol = socket.getProtocol();
  if (protocol !== 'TLSv1.3') {
    throw new FerryError('EPROTO', `channel binding needs TLS 1.3 (this connection uses ${protocol ?? 'no TLS yet'})`);
  }
  return socket.exportKeyingMaterial(32, 'EXPORTER-Channel-Binding', Buffer.alloc(0));
}

// ---- message syntax -----------------------------------------------------------------

function proto(message: string): FerryError {
  return new FerryError('EPROTO', `SCRAM: ${message}`);
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Strict base64: canonical form only, so that equal bytes always have equal text. */
function decodeBase64(text: string): Buffer | null {
  if (!BASE64.test(text)) return null;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : null;
}

/** RFC 5802 `printable`: %x21-2B / %x2D-7E (printable ASCII without ','). */
const NONCE = /^[\x21-\x2b\x2d-\x7e]+$/;

function saslname(user: string): string {
  return user.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

/** Undo saslname escaping; null when the text is not a valid saslname. */
function unsaslname(text: string): string | null {
  if (text.length === 0 || text.includes('\0') || /\p{Cs}/u.test(text)) return null;
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '=') {
      const esc = text.slice(i + 1, i + 3);
      if (esc === '2C') out += ',';
      else if (esc === '3D') out += '=';
      else return null;
      i += 2;
    } else {
      out += ch;
    }
  }
  return out;
}

/**
 * Split `a=x,b=y` and require exactly the attributes `names`, in that order. Values
 * cannot contain ',' (the RFC escapes it), so a plain split is exact.
 */
function attributes(message: string, names: readonly string[], what: string): string[] {
  if (message.length > MAX_MESSAGE_LENGTH) throw proto(`the ${what} is too long`);
  const parts = message.split(',');
  const values: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const name = part[0];
    if (part.length < 2 || part[1] !== '=' || name === undefined || !/^[A-Za-z]$/.test(name)) {
      throw proto(`the ${what} is malformed`);
    }
    // 'm=' is the RFC's reserved mandatory extension: nothing defines it, so we cannot honour it.
    if (name === 'm') throw proto(`the ${what} asks for an unsupported mandatory extension`);
    const expected = names[i];
    if (expected === undefined) throw proto(`the ${what} has unexpected attributes`);
    if (name !== expected) throw proto(`the ${what} is missing "${expected}=" (found "${name}=")`);
    values.push(part.slice(2));
  }
  if (values.length !== names.length) throw proto(`the ${what} is missing "${names[values.length]}="`);
  return values;
}

/** The text of a server's 'e=' error, made safe to show. */
function serverErrorText(message: string): string {
  const text = message.slice(2, 202).replace(/[^\x20-\x7e]/g, '?');
  return text.length > 0 ? text : 'no reason given';
}

// ---- test hooks (not part of the API) -----------------------------------------------

const injectedNonces = new WeakMap<object, string>();

/**
 * FOR TESTS ONLY: use `nonce` as this party's nonce (the client's cnonce or the server's
 * snonce) instead of a random one, so RFC test vectors can be replayed. Never call this
 * in product code: a predictable nonce breaks SCRAM's replay protection.
 */
export function __setNonceForTests(party: ScramClient | ScramServer, nonce: string): void {
  if (!NONCE.test(nonce)) throw new TypeError('not a valid SCRAM nonce');
  injectedNonces.set(party, nonce);
}

function newNonce(party: object): string {
  return injectedNonces.get(party) ?? randomBytes(NONCE_BYTES).toString('base64');
}

// ---- client ---------------------------------------------------------------------------

function checkBinding(channelBinding: Buffer | null): void {
  // An empty binding would silently degrade to no binding at all: it is always a bug.
  if (channelBinding !== null && channelBinding.length === 0) {
    throw new FerryError('EINVAL', 'SCRAM channel binding data is empty');
  }
}

export class ScramClient {
  private readonly user: string;
  private readonly credential: ClientCredential;
  private readonly gs2Header: string;
  private readonly channelBinding: Buffer | null;
  private cnonce: string | undefined;
  private clientFirstBare: string | undefined;
  private expectedServerSignature: Buffer | undefined;
  private derived: ScramClientKeys | undefined;
  private state: 'new' | 'first' | 'final' | 'done' = 'new';

  constructor(user: string, credential: ClientCredential, channelBinding: Buffer | null) {
    if (user.length === 0 || user.includes('\0') || /\p{Cs}/u.test(user)) {
      throw new FerryError('EINVAL', 'the user name is empty or contains invalid characters');
    }
    checkBinding(channelBinding);
    this.user = user;
    this.credential = credential;
    this.channelBinding = channelBinding;
    this.gs2Header = channelBinding === null ? GS2_PLAIN : GS2_BOUND;
  }

  /** Keys usable next time instead of the password (available after finalMessage). Save them only once verifyServerFinal has passed. */
  get keys(): ScramClientKeys | undefined {
    return this.derived;
  }

  firstMessage(): string {
    if (this.state === 'new') {
      this.cnonce = newNonce(this);
      this.clientFirstBare = `n=${saslname(this.user)},r=${this.cnonce}`;
      this.state = 'first';
    } else if (this.state !== 'first') {
      throw new FerryError('EPROTO', 'SCRAM: the first message was already answered');
    }
    return this.gs2Header + this.clientFirstBare!;
  }

  /**
   * Validates server-first: nonce must start with our cnonce, iterations within
   * [MIN_ITERATIONS, MAX_ITERATIONS], salt base64. Uses cached keys when salt and
   * iterations match, otherwise needs the password.
   */
  async finalMessage(serverFirst: string): Promise<string> {
    if (this.state !== 'first') throw new FerryError('EPROTO', 'SCRAM: finalMessage() must follow firstMessage(), once');
    const cnonce = this.cnonce!;
    if (serverFirst.startsWith('e=')) {
      throw new FerryError('EAUTH', `the server refused the login: ${serverErrorText(serverFirst)}`);
    }
    const [nonce, salt, iterText] = attributes(serverFirst, ['r', 's', 'i'], 'server-first message') as [string, string, string];
    if (!NONCE.test(nonce)) throw proto('the server nonce contains invalid characters');
    // The server must echo our nonce and add its own: otherwise this could be a replay.
    if (!nonce.startsWith(cnonce) || nonce.length === cnonce.length) {
      throw new FerryError('EAUTH', 'the server did not answer with our nonce: the login may be replayed or tampered with');
    }
    const saltBytes = decodeBase64(salt);
    if (saltBytes === null || saltBytes.length === 0) throw proto('the salt is not base64');
    if (!/^[1-9][0-9]*$/.test(iterText)) throw proto('the iteration count is not a number');
    const iterations = Number(iterText);
    // Too few iterations would let a fake server collect an easily cracked proof; too
    // many would let it make us burn CPU for minutes.
    if (iterations < MIN_ITERATIONS || iterations > MAX_ITERATIONS) {
      throw new FerryError(
        'EAUTH',
        `the server asked for ${iterText} password-hashing iterations; only ${MIN_ITERATIONS} to ${MAX_ITERATIONS} are accepted`,
      );
    }

    let keys: ScramClientKeys;
    if ('keys' in this.credential) {
      const cached = this.credential.keys;
      if (cached.salt !== salt || cached.iterations !== iterations) {
        throw new FerryError('EAUTH', 'the saved login is out of date; enter the password again');
      }
      keys = cached;
    } else {
      keys = await deriveClientKeys(this.credential.password, salt, iterations);
    }
    const clientKey = decodeBase64(keys.clientKey);
    const serverKey = decodeBase64(keys.serverKey);
    if (clientKey === null || clientKey.length !== KEY_BYTES || serverKey === null || serverKey.length !== KEY_BYTES) {
      throw new FerryError('EAUTH', 'the saved login is damaged; enter the password again');
    }

    const binding = Buffer.concat([Buffer.from(this.gs2Header, 'utf8'), this.channelBinding ?? Buffer.alloc(0)]);
    const withoutProof = `c=${binding.toString('base64')},r=${nonce}`;
    const authMessage = `${this.clientFirstBare!},${serverFirst},${withoutProof}`;
    const clientSignature = hmac(sha256(clientKey), authMessage);
    const proof = xor(clientKey, clientSignature);
    this.expectedServerSignature = hmac(serverKey, authMessage);
    this.derived = keys;
    this.state = 'final';
    return `${withoutProof},p=${proof.toString('base64')}`;
  }

  /** Checks server-final's v= in constant time. */
  verifyServerFinal(serverFinal: string): void {
    if (this.state !== 'final') throw new FerryError('EPROTO', 'SCRAM: verifyServerFinal() must follow finalMessage(), once');
    if (serverFinal.startsWith('e=')) {
      this.state = 'done';
      throw new FerryError('EAUTH', `the server refused the login: ${serverErrorText(serverFinal)}`);
    }
    const [v] = attributes(serverFinal, ['v'], 'server-final message') as [string];
    this.state = 'done';
    const expected = this.expectedServerSignature!;
    const got = decodeBase64(v);
    if (got === null || got.length !== expected.length || !timingSafeEqual(got, expected)) {
      throw new FerryError(
        'EAUTH',
        'the server could not prove it knows your password: it may be an impostor or the connection was tampered with',
      );
    }
  }
}

// ---- server ---------------------------------------------------------------------------

interface ServerState {
  readonly user: string;
  readonly gs2Header: string;
  readonly clientFirstBare: string;
  readonly serverFirst: string;
  readonly nonce: string;
  /** Null for an unknown user: the final step then fails like a wrong password. */
  readonly storedKey: Buffer | null;
  readonly serverKey: Buffer | null;
}

export class ScramServer {
  private readonly options: ScramServerOptions;
  private state: ServerState | undefined;
  private phase: 'new' | 'started' | 'done' = 'new';

  constructor(options: ScramServerOptions) {
    checkBinding(options.channelBinding);
    if (options.fakeSaltSecret.length < 16) {
      throw new FerryError('EINVAL', 'the SCRAM fake-salt secret must be at least 16 bytes');
    }
    this.options = options;
  }

  /**
   * Parse client-first (EPROTO on malformed), enforce channel binding on TLS, and answer
   * with server-first. Unknown users get a stable fake salt and are failed at finish().
   */
  async start(clientFirst: string): Promise<{ user: string; serverFirst: string }> {
    if (this.phase !== 'new') throw new FerryError('EPROTO', 'SCRAM: the login was already started');
    this.phase = 'done';
    if (clientFirst.length > MAX_MESSAGE_LENGTH) throw proto('the client-first message is too long');

    // gs2-header = gs2-cbind-flag ',' [authzid] ','
    const comma1 = clientFirst.indexOf(',');
    const comma2 = comma1 < 0 ? -1 : clientFirst.indexOf(',', comma1 + 1);
    if (comma2 < 0) throw proto('the client-first message has no GS2 header');
    const flag = clientFirst.slice(0, comma1);
    const authzid = clientFirst.slice(comma1 + 1, comma2);
    const gs2Header = clientFirst.slice(0, comma2 + 1);
    const bare = clientFirst.slice(comma2 + 1);
    if (flag !== 'n' && flag !== 'y' && !/^p=[A-Za-z0-9.-]+$/.test(flag)) throw proto('the channel binding flag is malformed');
    if (authzid !== '' && (!authzid.startsWith('a=') || unsaslname(authzid.slice(2)) === null)) {
      throw proto('the authorization identity is malformed');
    }
    const [rawUser, cnonce] = attributes(bare, ['n', 'r'], 'client-first message') as [string, string];
    const user = unsaslname(rawUser);
    if (user === null) throw proto('the user name is not a valid saslname');
    if (!NONCE.test(cnonce)) throw proto('the client nonce contains invalid characters');

    // Policy, checked only after the syntax so that EPROTO always means "malformed".
    if (authzid !== '') throw new FerryError('EAUTH', 'logging in as another user (an authorization identity) is not supported');
    if (this.options.channelBinding !== null) {
      if (flag !== `p=${CHANNEL_BINDING_TYPE}`) {
        // 'n'/'y' here means the client did not see our TLS: a man in the middle may have
        // terminated it. Binding is what detects that, so it is never optional on TLS.
        throw new FerryError(
          'EAUTH',
          flag.startsWith('p=')
            ? `channel binding "${flag.slice(2)}" is not supported (this server uses ${CHANNEL_BINDING_TYPE})`
            : 'channel binding (SCRAM-SHA-256-PLUS with tls-exporter) is required on this TLS connection',
        );
      }
    } else if (flag !== 'n') {
      throw new FerryError(
        'EAUTH',
        flag.startsWith('p=')
          ? 'the client expects channel binding, but this connection is not TLS'
          : 'this connection has no channel binding: the client must send the "n" GS2 flag',
      );
    }

    const verifier = await this.options.lookup(user);
    let salt: string;
    let iterations: number;
    let storedKey: Buffer | null = null;
    let serverKey: Buffer | null = null;
    if (verifier !== null) {
      salt = verifier.salt;
      iterations = verifier.iterations;
      storedKey = decodeBase64(verifier.storedKey);
      serverKey = decodeBase64(verifier.serverKey);
    } else {
      // Same shape as a real answer, and the same salt every time for this name, so
      // probing cannot tell an unknown user from a known one.
      salt = hmac(this.options.fakeSaltSecret, user).subarray(0, SALT_BYTES).toString('base64');
      iterations = DEFAULT_ITERATIONS;
    }
    const nonce = cnonce + newNonce(this);
    const serverFirst = `r=${nonce},s=${salt},i=${iterations}`;
    this.state = { user, gs2Header, clientFirstBare: bare, serverFirst, nonce, storedKey, serverKey };
    this.phase = 'started';
    return { user, serverFirst };
  }

  /** Check client-final (nonce, channel binding, proof) and return server-final. */
  async finish(clientFinal: string): Promise<string> {
    if (this.phase !== 'started' || this.state === undefined) {
      throw new FerryError('EPROTO', 'SCRAM: finish() must follow a successful start(), once');
    }
    this.phase = 'done';
    const s = this.state;
    const [c, nonce, p] = attributes(clientFinal, ['c', 'r', 'p'], 'client-final message') as [string, string, string];
    const proof = decodeBase64(p);
    if (decodeBase64(c) === null || proof === null || proof.length !== KEY_BYTES) {
      throw proto('the client-final message has a malformed channel binding or proof');
    }
    // One message for every failure below: never reveal whether the user exists.
    const fail = (): FerryError => new FerryError('EAUTH');
    if (nonce !== s.nonce) throw fail();
    const binding = Buffer.concat([Buffer.from(s.gs2Header, 'utf8'), this.options.channelBinding ?? Buffer.alloc(0)]);
    if (c !== binding.toString('base64')) throw fail();

    const authMessage = `${s.clientFirstBare},${s.serverFirst},c=${c},r=${nonce}`;
    // Unknown users run the same computation against a random key, so timing matches.
    const storedKey = s.storedKey !== null && s.storedKey.length === KEY_BYTES ? s.storedKey : null;
    const key = storedKey ?? randomBytes(KEY_BYTES);
    const clientKey = xor(hmac(key, authMessage), proof);
    const ok = timingSafeEqual(sha256(clientKey), key);
    if (!ok || storedKey === null || s.serverKey === null || s.serverKey.length !== KEY_BYTES) throw fail();
    return `v=${hmac(s.serverKey, authMessage).toString('base64')}`;
  }
}
