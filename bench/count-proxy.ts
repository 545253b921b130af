/**
 * A TCP relay on 127.0.0.1 that counts the bytes it carries each way: what a tool really
 * sends over the wire (TLS or SSH framing included), measured the same way for Ferry and
 * for its peers. It adds one loopback hop for every tool alike; nothing is delayed.
 */
import net from 'node:net';

export class CountProxy {
  /** Client → server bytes since the last reset(). */
  up = 0;
  /** Server → client bytes since the last reset(). */
  down = 0;
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number): Promise<CountProxy> {
    let proxy: CountProxy | undefined;
    const server = net.createServer((client) => {
      const upstream = net.connect(targetPort, '127.0.0.1');
      for (const s of [client, upstream]) {
        s.setNoDelay(true);
        proxy!.sockets.add(s);
        s.on('close', () => proxy!.sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.on('data', (d: Buffer) => (proxy!.up += d.length));
      upstream.on('data', (d: Buffer) => (proxy!.down += d.length));
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    proxy = new CountProxy(server, (server.address() as net.AddressInfo).port);
    return proxy;
  }

  reset(): void {
    this.up = 0;
    this.down = 0;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
