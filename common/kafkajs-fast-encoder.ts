/**
 * A faster buffer allocation for kafkajs's protocol Encoder, installed before kafkajs loads.
 *
 * kafkajs creates an Encoder per record and per header, and each one starts with a zero-filled 512-byte
 * `Buffer.alloc`; with the nine CloudEvents headers on every message that allocation dominated our
 * produce path (a CPU profile of the decider put ~30% of its time in allocation and the GC behind it).
 * `Buffer.allocUnsafe` takes small buffers from Node's pool without zeroing. It is safe here because an
 * Encoder only ever exposes `buf.slice(0, offset)`, and every byte below `offset` has been written.
 * Measured on this machine: 32 µs → 16 µs to encode a record with nine headers.
 *
 * Import this module before anything imports kafkajs (common/kafka.ts and the producer library do it
 * first). kafkajs 2.2.4 is the last release, so the shape patched here does not move.
 */
import { createRequire } from 'node:module';

interface EncoderClass {
  new (initialSize?: number): { buf: Buffer; offset: number };
  nextPowerOfTwo(value: number): number;
  prototype: { buf: Buffer; offset: number; ensureAvailable(length: number): void };
}

const require = createRequire(import.meta.url);
const encoderPath = require.resolve('kafkajs/src/protocol/encoder.js');
const cached = require.cache[encoderPath];

export const fastEncoderInstalled = install();

function install(): boolean {
  if (cached && (cached.exports as { slotstreamFast?: boolean }).slotstreamFast) return true;
  if (cached) return false; // kafkajs loaded first: leave it as it is rather than mix two encoders
  const Encoder = require(encoderPath) as EncoderClass;
  if (
    typeof Encoder.nextPowerOfTwo !== 'function' ||
    typeof Encoder.prototype.ensureAvailable !== 'function'
  ) {
    return false; // not the kafkajs this was written for
  }
  function FastEncoder(this: { buf: Buffer; offset: number }, initialSize = 511) {
    this.buf = Buffer.allocUnsafe(Encoder.nextPowerOfTwo(initialSize));
    this.offset = 0;
  }
  // Same prototype and statics: kafkajs's modules (and instanceof) see an Encoder.
  Object.setPrototypeOf(FastEncoder, Encoder);
  FastEncoder.prototype = Encoder.prototype;
  Object.defineProperty(FastEncoder, 'slotstreamFast', { value: true });
  Encoder.prototype.ensureAvailable = function ensureAvailable(length: number) {
    if (this.offset + length > this.buf.length) {
      const grown = Buffer.allocUnsafe(Encoder.nextPowerOfTwo(this.offset + length));
      this.buf.copy(grown, 0, 0, this.offset);
      this.buf = grown;
    }
  };
  const module = require.cache[encoderPath];
  if (!module) return false;
  module.exports = FastEncoder;
  return true;
}
