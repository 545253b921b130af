/**
 * A hostile peer for server-memory.test.ts, in a process of its own so that its work does
 * not slow the test's measurements: many connections to a local ferryd, from several
 * loopback addresses, pushing the biggest headers they may as fast as the sockets take
 * them. It uses the built codec (dist/, as the ferryd under test does).
 *
 * Usage: node flood-peer.mjs '{"port":…,"addresses":[…],"connections":…,"mode":…}'
 *   mode "unauthenticated": hello, then frames of each kind in `kinds` in turn, never a
 *     login; a connection the server closes is opened again.
 *   mode "stalled": attach to one of `sessions` ({session, ticket}), ask for `gets`
 *     downloads of `path` and never read the replies, then after `stallMs` push pings
 *     padded to `maxHeader` behind them.
 * Prints "ready" once every connection is flooding.
 */
import net from 'node:net';
import { FrameDecoder, encodeFrame } from '../../dist/shared/common/frame.js';
import { attachProof } from '../../dist/shared/node/attach-proof.js';

const options = JSON.parse(process.argv[2]);

/** Ten digits, so that every frame of a kind has the same size. */
const FIRST_ID = 1_000_000_000;

/**
 * Frames of one kind with ids counting up (a request id in flight twice is refused): made
 * once from `json(FIRST_ID)`, then copied with the id's digits rewritten.
 */
function frames(json) {
  const header = Buffer.from(json(FIRST_ID));
  const frame = Buffer.alloc(4 + header.length);
  frame.writeUInt32LE(header.length, 0);
  header.copy(frame, 4);
  const at = frame.indexOf(String(FIRST_ID));
  let id = FIRST_ID;
  return () => {
    const copy = Buffer.from(frame);
    copy.write(String(id++), at, 'latin1');
    return copy;
  };
}

/** Pings that parse into as many objects as JSON allows for their size (`[[],[],…]`). */
function heavyPings(bytes) {
  return frames((id) => {
    const head = `{"type":"ping","id":${id},"pad":[`;
    return `${head}${Array(Math.floor((bytes - head.length - 1) / 3)).fill('[]').join(',')}]}`;
  });
}

/** Valid pings of `bytes`, the rest one long string: the biggest header a server must take. */
function paddedPings(bytes) {
  return frames((id) => {
    const head = `{"type":"ping","id":${id},"pad":"`;
    return `${head}${'x'.repeat(bytes - head.length - 2)}"}`;
  });
}

function pings(kind) {
  return kind.heavy ? heavyPings(kind.bytes) : paddedPings(kind.bytes);
}

/** Write frames again and again while the socket takes them (honouring its backpressure). */
function pushForever(socket, next) {
  const push = () => {
    // A few writes a turn, then let the other connections have theirs.
    for (let i = 0; i < 16; i++) {
      if (socket.destroyed || !socket.write(next())) return; // 'drain' goes on
    }
    setImmediate(push);
  };
  socket.on('drain', push);
  push();
}

function connect(i) {
  const socket = net.connect({ host: '127.0.0.1', port: options.port, localAddress: options.addresses[i % options.addresses.length] });
  socket.on('error', () => undefined);
  socket.once('connect', () => socket.setNoDelay(true));
  return socket;
}

const hello = encodeFrame({ type: 'hello', id: 0, versions: [1], agent: 'flood-peer' });

function unauthenticated(i, ready) {
  const next = pings(options.kinds[i % options.kinds.length]);
  const socket = connect(i);
  socket.on('data', () => undefined);
  socket.once('connect', () => {
    socket.write(hello);
    pushForever(socket, next);
    ready();
  });
  socket.once('close', () => setImmediate(() => unauthenticated(i, () => undefined)));
}

function stalled(i, ready) {
  const { session, ticket } = options.sessions[i % options.sessions.length];
  const socket = connect(i);
  const decoder = new FrameDecoder({
    header(header) {
      if (header.type === 'hello') {
        const proof = attachProof(Buffer.from(ticket, 'base64'), header.nonce, null).toString('base64');
        socket.write(encodeFrame({ type: 'attach', id: 1, session, proof }));
      } else if (header.type === 'ok' && header.id === 1) {
        // Attached: from now on nothing is read, and the downloads fill the socket buffers.
        socket.pause();
        for (let g = 0; g < options.gets; g++) socket.write(encodeFrame({ type: 'get', id: 2 + g, path: options.path }));
        // Once the replies have filled the socket buffers, the requests behind them.
        setTimeout(() => {
          pushForever(socket, paddedPings(options.maxHeader));
          ready();
        }, options.stallMs);
      } else {
        console.error(`flood-peer: unexpected ${JSON.stringify(header).slice(0, 200)}`);
        process.exit(1);
      }
    },
    body() {},
    bodyEnd() {},
  });
  socket.on('data', (chunk) => decoder.push(chunk));
  socket.once('connect', () => socket.write(hello));
}

let waiting = options.connections;
const ready = () => {
  if (--waiting === 0) console.log('ready');
};
const open = options.mode === 'stalled' ? stalled : unauthenticated;
for (let i = 0; i < options.connections; i++) open(i, ready);
