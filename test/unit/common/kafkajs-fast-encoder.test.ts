import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import '../../../common/kafka.ts';
import { fastEncoderInstalled } from '../../../common/kafkajs-fast-encoder.ts';

const require = createRequire(import.meta.url);
type Encoded = { buffer: Buffer };
const encodeRecord = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (r: object) => Encoded;
const Decoder = require('kafkajs/src/protocol/decoder.js') as new (
  b: Buffer,
) => {
  readVarInt(): number;
  slice(n: number): unknown;
};
const decodeRecord = require('kafkajs/src/protocol/recordBatch/record/v0/decoder.js') as (
  d: unknown,
  ctx: object,
) => { key: Buffer; value: Buffer; headers: Record<string, Buffer> };

describe('kafkajs fast encoder', () => {
  it('is installed before kafkajs loads (every kafkajs module then encodes with it)', () => {
    expect(fastEncoderInstalled).toBe(true);
    expect((require('kafkajs/src/protocol/encoder.js') as { slotstreamFast?: boolean }).slotstreamFast).toBe(
      true,
    );
  });

  it('encodes records that kafkajs decodes back byte for byte, across buffer growth', () => {
    // Dirty the allocation pool first: unzeroed memory must never leak into an encoded record.
    for (let i = 0; i < 100; i++) Buffer.allocUnsafe(512).fill(0xaa);
    for (const size of [0, 1, 300, 511, 512, 4_000, 70_000]) {
      const value = Buffer.alloc(size, 7);
      const headers = { ce_id: `id-${size}`, ce_type: 'slotstream.events.ReservationHeld', empty: '' };
      const encoded = encodeRecord({
        offsetDelta: 3,
        timestampDelta: 5,
        key: Buffer.from(`key-${size}`),
        value,
        headers,
      });
      const decoder = new Decoder(encoded.buffer);
      const length = decoder.readVarInt();
      const record = decodeRecord(decoder.slice(length), { firstOffset: '0', firstTimestamp: '0' });
      expect(record.key.toString()).toBe(`key-${size}`);
      expect(Buffer.compare(record.value ?? Buffer.alloc(0), value)).toBe(0);
      expect(Object.fromEntries(Object.entries(record.headers).map(([k, v]) => [k, v.toString()]))).toEqual(
        headers,
      );
    }
  });
});
