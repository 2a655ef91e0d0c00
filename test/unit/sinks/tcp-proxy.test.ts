import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { TcpProxy } from '../../support/tcp-proxy.ts';

function echoServer(): Promise<net.Server> {
  return new Promise((resolve) => {
    const server = net.createServer((s) => s.pipe(s));
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

function roundTrip(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => socket.write(text));
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString());
    });
    socket.once('error', reject);
  });
}

describe('TcpProxy', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  it('forwards, drops open connections and refuses new ones while down, and accepts again on the same port', async () => {
    const server = await echoServer();
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const proxy = new TcpProxy({ host: '127.0.0.1', port: (server.address() as net.AddressInfo).port });
    await proxy.up();
    cleanups.push(() => proxy.close());
    const port = proxy.port;
    expect(await roundTrip(port, 'hello')).toBe('hello');

    const open = net.connect({ host: '127.0.0.1', port });
    await new Promise((r) => open.once('connect', r));
    const closed = new Promise((r) => open.once('close', r));
    open.on('error', () => {});
    await proxy.down();
    await closed;
    await expect(roundTrip(port, 'x')).rejects.toMatchObject({ code: 'ECONNREFUSED' });

    await proxy.up();
    expect(proxy.port).toBe(port);
    expect(await roundTrip(port, 'again')).toBe('again');
  });
});
