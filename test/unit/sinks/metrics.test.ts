import { describe, expect, it } from 'vitest';
import { SinkMetrics } from '../../../sinks/runtime/metrics.ts';

describe('sink metrics', () => {
  it("exports the sink's own action counts as slotstream_sink_actions_total, current at every scrape", async () => {
    const stats = { charges: 0, declines: 0 };
    const metrics = new SinkMetrics('payment', async () => new Map(), 'events', stats);
    stats.charges += 2;
    let text = await metrics.registry.metrics();
    expect(text).toContain('slotstream_sink_actions_total{action="charges",sink="payment"} 2');
    expect(text).toContain('slotstream_sink_actions_total{action="declines",sink="payment"} 0');
    stats.declines += 1;
    text = await metrics.registry.metrics();
    expect(text).toContain('slotstream_sink_actions_total{action="declines",sink="payment"} 1');
    expect(text).toContain('slotstream_sink_actions_total{action="charges",sink="payment"} 2');
  });

  it('has no action counter for a sink that keeps no counts', async () => {
    const metrics = new SinkMetrics('postgres', async () => new Map(), 'events');
    expect(await metrics.registry.metrics()).not.toContain('slotstream_sink_actions_total');
  });
});
