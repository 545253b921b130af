/**
 * The receiving end of the raw-pipe ceilings, run as its own process (as ferryd is):
 *   node --import dist/bench/watchdog.js dist/bench/raw-pipe.js plain|tls OUT_FILE CERT_DIR
 * Listens on 127.0.0.1 (port printed as "port N"), takes one connection, writes what
 * arrives to OUT_FILE with createWriteStream (no framing, no hash, no fsync), prints
 * "done BYTES" once the file is closed, and exits. The watchdog stops it if the bench
 * goes away.
 */
import { createWriteStream } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { loadOrCreateIdentity } from '../shared/node/tls-identity.js';

const [mode, out, certDir] = process.argv.slice(2);
if ((mode !== 'plain' && mode !== 'tls') || !out || !certDir) {
  process.stderr.write('usage: raw-pipe.js plain|tls OUT_FILE CERT_DIR\n');
  process.exit(2);
}

const onSocket = (socket: net.Socket): void => {
  server.close();
  const file = createWriteStream(out);
  let bytes = 0;
  socket.on('data', (chunk: Buffer) => (bytes += chunk.length));
  socket.pipe(file);
  file.on('close', () => {
    process.stdout.write(`done ${bytes}\n`, () => process.exit(0));
  });
  socket.on('error', (err) => {
    process.stderr.write(`raw-pipe: ${err.message}\n`);
    process.exit(1);
  });
};

let server: net.Server;
if (mode === 'tls') {
  // A throwaway self-signed identity, made the way ferryd makes its own.
  const { identity } = await loadOrCreateIdentity(certDir, 'raw-pipe');
  server = tls.createServer({ key: identity.key, cert: identity.cert, minVersion: 'TLSv1.3', noDelay: true }, onSocket);
} else {
  server = net.createServer({ noDelay: true }, onSocket);
}
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`port ${(server.address() as net.AddressInfo).port}\n`);
});
// Bounded even without the watchdog: nobody waits for a pipe this long.
setTimeout(() => process.exit(3), 10 * 60_000).unref();
