import { describe, expect, it } from 'vitest';
import { isLoopback, parseDuration, parseLoadOptions, UsageError } from '../../../producers/load/options.ts';
import { Latencies, Tally } from '../../../producers/load/stats.ts';

describe('parseLoadOptions', () => {
  it('parses the documented options with their defaults', () => {
    const options = parseLoadOptions([
      '--rate',
      '2000',
      '--duration',
      '30s',
      '--resources',
      '50',
      '--capacity',
      '5',
      '--hot-share',
      '0.2',
    ]);
    expect(options).toMatchObject({
      rate: 2000,
      durationMs: 30_000,
      resources: 50,
      capacity: 5,
      hotShare: 0.2,
      quantity: 1,
      via: 'kafka',
      apiUrl: 'http://127.0.0.1:3000',
      maxInFlight: 2_000,
      settleMs: 15_000,
      setup: true,
    });
  });

  it('needs a rate and a duration, and bounds both', () => {
    expect(() => parseLoadOptions(['--duration', '10s'])).toThrow(/--rate is required/);
    expect(() => parseLoadOptions(['--rate', '10'])).toThrow(/--duration is required/);
    expect(() => parseLoadOptions(['--rate', '0', '--duration', '1s'])).toThrow(/--rate/);
    expect(() => parseLoadOptions(['--rate', '100', '--duration', '11m'])).toThrow(/--duration/);
    expect(() => parseLoadOptions(['--rate', '50000', '--duration', '600s'])).toThrow(/more than/);
    expect(() => parseLoadOptions(['--rate', '10', '--duration', '1s', '--hot-share', '1.5'])).toThrow(
      /--hot-share/,
    );
    expect(() => parseLoadOptions(['--rate', '10', '--duration', '1s', '--bogus'])).toThrow(UsageError);
  });

  it('targets loopback only, and needs a key for --via http', () => {
    expect(() =>
      parseLoadOptions([
        '--rate',
        '10',
        '--duration',
        '1s',
        '--via',
        'http',
        '--api-url',
        'http://10.0.0.5:3000',
        '--api-key',
        'k',
      ]),
    ).toThrow(/loopback/);
    expect(() => parseLoadOptions(['--rate', '10', '--duration', '1s', '--via', 'http'])).toThrow(/api-key/);
    const viaHttp = parseLoadOptions(['--rate', '10', '--duration', '1s', '--via', 'http'], {
      SLOTSTREAM_API_KEY: 'slot_x',
    });
    expect(viaHttp).toMatchObject({ via: 'http', apiKey: 'slot_x' });
    expect(() => parseLoadOptions(['--rate', '10', '--duration', '1s', '--via', 'carrier-pigeon'])).toThrow(
      /--via/,
    );
  });

  it('reads durations and recognises loopback hosts', () => {
    expect(parseDuration('d', '1500ms')).toBe(1_500);
    expect(parseDuration('d', '2m')).toBe(120_000);
    expect(parseDuration('d', '7')).toBe(7_000);
    expect(() => parseDuration('d', 'soon')).toThrow(/--d/);
    expect(['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]'].every(isLoopback)).toBe(true);
    expect(['10.0.0.1', '192.168.1.1', 'example.com', '128.0.0.1'].some(isLoopback)).toBe(false);
  });
});

describe('stats', () => {
  it('gives nearest-rank percentiles', () => {
    const l = new Latencies();
    for (let i = 100; i >= 1; i--) l.add(i);
    expect(l.summary()).toEqual({ count: 100, p50: 50, p90: 90, p99: 99, p999: 100, max: 100 });
    expect(new Latencies().summary()).toBeNull();
  });

  it('tallies by key, largest first', () => {
    const t = new Tally();
    t.add('UNAVAILABLE', 3);
    t.add('INVALID_RANGE');
    expect(t.toObject()).toEqual({ UNAVAILABLE: 3, INVALID_RANGE: 1 });
    expect(t.total).toBe(4);
  });
});
