/** Prometheus counters, gauges and histograms as plain data, and their text format. */

export interface Histogram {
  buckets: readonly number[];
  /** Per label set: counts per bucket (cumulative on render), sum and count. */
  series: Map<string, { counts: number[]; sum: number; count: number }>;
}

export interface Metrics {
  requests: Map<string, number>;
  tokensGenerated: Map<string, number>;
  tokensScored: Map<string, number>;
  timePerToken: Histogram;
  requestSeconds: Histogram;
  /** Memory that other threads report by kind label (the connection front's heap), bytes. */
  threadMemory: Map<string, number>;
}

export function createMetrics(): Metrics {
  return {
    requests: new Map(),
    tokensGenerated: new Map(),
    tokensScored: new Map(),
    timePerToken: histogram([0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1]),
    requestSeconds: histogram([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]),
    threadMemory: new Map(),
  };
}

function histogram(buckets: number[]): Histogram {
  return { buckets, series: new Map() };
}

/** Labels as Prometheus writes them: {a="x",b="y"}. */
export function labels(l: Record<string, string | number>): string {
  const parts = Object.entries(l).map(([k, v]) =>
    `${k}="${String(v).replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`
  );
  return parts.length ? `{${parts.join(",")}}` : "";
}

export function inc(m: Map<string, number>, key: string, by = 1): void {
  m.set(key, (m.get(key) ?? 0) + by);
}

export function observe(h: Histogram, key: string, value: number): void {
  let s = h.series.get(key);
  if (!s) h.series.set(key, s = { counts: h.buckets.map(() => 0), sum: 0, count: 0 });
  const i = h.buckets.findIndex((b) => value <= b);
  if (i >= 0) s.counts[i]!++;
  s.sum += value;
  s.count++;
}

function renderHistogram(name: string, help: string, h: Histogram): string[] {
  const out = [`# HELP ${name} ${help}`, `# TYPE ${name} histogram`];
  for (const [key, s] of h.series) {
    const inner = key.slice(1, -1); // key is labels(...) output or ""
    const withLe = (le: string) => `{${inner ? inner + "," : ""}le="${le}"}`;
    let acc = 0;
    h.buckets.forEach((b, i) => {
      acc += s.counts[i]!;
      out.push(`${name}_bucket${withLe(String(b))} ${acc}`);
    });
    out.push(`${name}_bucket${withLe("+Inf")} ${s.count}`);
    out.push(`${name}_sum${key} ${s.sum}`, `${name}_count${key} ${s.count}`);
  }
  return out;
}

function renderCounter(name: string, help: string, m: Map<string, number>): string[] {
  return [
    `# HELP ${name} ${help}`,
    `# TYPE ${name} counter`,
    ...[...m].map(([k, v]) => `${name}${k} ${v}`),
  ];
}

/** The Prometheus text exposition, gauges passed in as label key → value. */
export function renderMetrics(
  m: Metrics,
  gauges: {
    activeStreams: Map<string, number>;
    queueDepth: Map<string, number>;
    memory?: Map<string, number>;
  },
): string {
  const gauge = (name: string, help: string, g: Map<string, number>) => [
    `# HELP ${name} ${help}`,
    `# TYPE ${name} gauge`,
    ...[...g].map(([k, v]) => `${name}${k} ${v}`),
  ];
  return [
    ...renderCounter("rotor_requests_total", "HTTP requests by route and status.", m.requests),
    ...renderCounter(
      "rotor_tokens_generated_total",
      "Tokens generated, by model.",
      m.tokensGenerated,
    ),
    ...renderCounter("rotor_tokens_scored_total", "Tokens scored, by model.", m.tokensScored),
    ...gauge(
      "rotor_active_streams",
      "Generations in the batch now, by model.",
      gauges.activeStreams,
    ),
    ...gauge(
      "rotor_queue_depth",
      "Generations waiting for the batch, by model.",
      gauges.queueDepth,
    ),
    ...(gauges.memory
      ? gauge(
        "rotor_memory_bytes",
        "Process memory by kind: rss, js_heap (used), external, wasm_heap (never shrinks), " +
          "front_js_heap and front_external (the connection front's thread).",
        gauges.memory,
      )
      : []),
    ...renderHistogram(
      "rotor_time_per_token_seconds",
      "Time between a stream's tokens.",
      m.timePerToken,
    ),
    ...renderHistogram(
      "rotor_request_duration_seconds",
      "Request latency to the last byte, by route.",
      m.requestSeconds,
    ),
  ].join("\n") + "\n";
}
