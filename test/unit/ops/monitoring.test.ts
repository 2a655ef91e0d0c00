/**
 * The monitoring files in ops/monitoring/ (Prometheus rules, scrape configuration, Grafana dashboard) name
 * only metrics the processes export, with labels those metrics carry: a renamed metric or label breaks this
 * test, not the alert that should have fired.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createMetrics } from '../../../api/metrics.ts';
import { deciderMetrics } from '../../../processors/decider/metrics.ts';
import { SinkMetrics } from '../../../sinks/runtime/metrics.ts';

const dir = join(import.meta.dirname, '../../../ops/monitoring');
const read = (file: string) => readFileSync(join(dir, file), 'utf8');

/** Every exported metric with its label names, histogram series included; labels Prometheus adds too. */
function exported(): Map<string, Set<string>> {
  const decider = new Registry();
  deciderMetrics(decider);
  const sink = new SinkMetrics('postgres', async () => new Map(), 'reservations.events', { applied: 0 });
  const registries: [Registry, string[]][] = [
    [createMetrics({ defaultMetrics: false }).registry, []],
    [decider, []],
    [sink.registry, ['sink']],
  ];
  const metrics = new Map<string, Set<string>>([['up', new Set()]]);
  for (const [registry, defaults] of registries) {
    for (const metric of registry.getMetricsAsArray()) {
      const { name, labelNames } = metric as unknown as { name: string; labelNames?: string[] };
      const labels = new Set([...(labelNames ?? []), ...defaults]);
      metrics.set(name, labels);
      if ((metric as { type?: unknown }).type === 'histogram') {
        metrics.set(`${name}_bucket`, new Set([...labels, 'le']));
        metrics.set(`${name}_sum`, labels);
        metrics.set(`${name}_count`, labels);
      }
    }
  }
  for (const labels of metrics.values()) {
    labels.add('job');
    labels.add('instance');
  }
  return metrics;
}

/** What is wrong with a PromQL expression's metric and label names (empty when nothing is). */
function problems(expr: string, metrics: Map<string, Set<string>>): string[] {
  const found: string[] = [];
  const used = new Set<string>();
  let named = 0;
  for (const m of expr.matchAll(/\b(slotstream_[a-z0-9_]+|up)\b(\{([^}]*)\})?/g)) {
    const name = m[1] as string;
    named += 1;
    const labels = metrics.get(name);
    if (!labels) {
      found.push(`${name} is not exported`);
      continue;
    }
    used.add(name);
    for (const matcher of (m[3] ?? '').matchAll(/(\w+)\s*(=~|!~|!=|=)/g)) {
      if (!labels.has(matcher[1] as string)) found.push(`${name} has no label ${matcher[1]}`);
    }
  }
  const available = new Set([...used].flatMap((name) => [...(metrics.get(name) ?? [])]));
  for (const by of expr.matchAll(/\bby\s*\(([^)]*)\)/g)) {
    for (const label of (by[1] as string).split(',').map((l) => l.trim())) {
      if (label && !available.has(label)) found.push(`by (${label}): no metric of the expression has it`);
    }
  }
  if (named === 0) found.push('names no metric');
  return found;
}

interface Rule {
  alert?: string;
  expr?: string;
  for?: string;
  labels?: { severity?: string };
  annotations?: { summary?: string };
}

describe('ops/monitoring', () => {
  const metrics = exported();

  it('knows the metrics it checks against (the test itself sees the registries)', () => {
    expect(metrics.has('slotstream_decider_consumer_lag')).toBe(true);
    expect(metrics.get('slotstream_sink_consumer_lag')?.has('sink')).toBe(true);
    expect(problems('sum(slotstream_no_such_metric)', metrics)).toEqual([
      'slotstream_no_such_metric is not exported',
    ]);
    expect(problems('slotstream_sink_state{stat="running"}', metrics)).toEqual([
      'slotstream_sink_state has no label stat',
    ]);
    expect(problems('sum by (sinks) (slotstream_sink_consumer_lag)', metrics)).toEqual([
      'by (sinks): no metric of the expression has it',
    ]);
  });

  it('alerting rules: each has a severity and a summary, and names exported metrics and labels', () => {
    const groups = (parse(read('alerts.yml')) as { groups: { name: string; rules: Rule[] }[] }).groups;
    const rules = groups.flatMap((g) => g.rules);
    expect(rules.length).toBeGreaterThan(10);
    const names = new Set<string>();
    for (const rule of rules) {
      expect(rule.alert, JSON.stringify(rule)).toMatch(/^Slotstream[A-Za-z]+$/);
      expect(names.has(rule.alert as string), `${rule.alert} twice`).toBe(false);
      names.add(rule.alert as string);
      expect(['page', 'ticket'], `${rule.alert} severity`).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary, `${rule.alert} summary`).toBeTruthy();
      if (rule.for !== undefined) expect(rule.for).toMatch(/^\d+[smh]$/);
      expect(problems(rule.expr ?? '', metrics), `${rule.alert}: ${rule.expr}`).toEqual([]);
    }
  });

  it('scrape configuration: loads the rules and has every job an alert names', () => {
    const config = parse(read('prometheus.yml')) as {
      rule_files: string[];
      scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
    };
    expect(config.rule_files).toContain('alerts.yml');
    const jobs = new Set(config.scrape_configs.map((c) => c.job_name));
    for (const m of read('alerts.yml').matchAll(/job="([^"]+)"/g)) expect(jobs).toContain(m[1]);
    for (const c of config.scrape_configs) {
      for (const target of c.static_configs.flatMap((s) => s.targets))
        expect(target).toMatch(/^127\.0\.0\.1:\d+$/);
    }
  });

  it('Grafana dashboard: every panel queries exported metrics and labels', () => {
    const dashboard = JSON.parse(read('grafana-dashboard.json')) as {
      uid: string;
      panels: { title: string; targets: { expr: string }[] }[];
    };
    expect(dashboard.uid).toBe('slotstream');
    expect(dashboard.panels.length).toBeGreaterThan(10);
    for (const panel of dashboard.panels) {
      expect(panel.targets.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets) expect(problems(target.expr, metrics), panel.title).toEqual([]);
    }
  });
});
