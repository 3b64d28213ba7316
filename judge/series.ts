// A size-bounded time series: samples fall into fixed-width buckets; when the bucket count would pass
// its bound, neighbours merge pairwise and the width doubles. A 24 h run at 250 ms (345,600 samples)
// keeps at most maxBuckets buckets, so the series fits in a heartbeat and the journal. Pure, plain JSON.

/** How a field of two merged buckets combines. */
export type Agg = 'sum' | 'last' | 'max' | 'min';

export interface Bucket {
  /** Bucket start, epoch ms. */
  t: number;
  /** Samples in the bucket. */
  n: number;
  v: Record<string, number>;
}

export interface Series {
  fields: Record<string, Agg>;
  bucketMs: number;
  maxBuckets: number;
  buckets: Bucket[];
}

export function createSeries(fields: Record<string, Agg>, bucketMs = 1000, maxBuckets = 240): Series {
  if (maxBuckets < 2 || maxBuckets % 2) throw new RangeError('maxBuckets must be an even number >= 2');
  if (!(bucketMs > 0)) throw new RangeError('bucketMs must be positive');
  return { fields, bucketMs, maxBuckets, buckets: [] };
}

function combine(agg: Agg, a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  switch (agg) {
    case 'sum':
      return a + b;
    case 'last':
      return b;
    case 'max':
      return Math.max(a, b);
    case 'min':
      return Math.min(a, b);
  }
}

function mergeInto(s: Series, into: Bucket, from: Bucket): void {
  into.n += from.n;
  for (const [k, agg] of Object.entries(s.fields)) {
    const v = combine(agg, into.v[k], from.v[k]);
    if (v !== undefined) into.v[k] = v;
  }
}

/** Doubles the bucket width, merging neighbours, until the series fits again. */
function compact(s: Series): void {
  while (s.buckets.length > s.maxBuckets) {
    s.bucketMs *= 2;
    const out: Bucket[] = [];
    for (const b of s.buckets) {
      const t = Math.floor(b.t / s.bucketMs) * s.bucketMs;
      const prev = out[out.length - 1];
      if (prev && prev.t === t) mergeInto(s, prev, b);
      else out.push({ t, n: b.n, v: { ...b.v } });
    }
    s.buckets = out;
  }
}

/** Adds one sample at time t (epoch ms, non-decreasing). Mutates and returns the series. */
export function addSample(s: Series, t: number, values: Record<string, number>): Series {
  const start = Math.floor(t / s.bucketMs) * s.bucketMs;
  const v: Record<string, number> = {};
  for (const k of Object.keys(s.fields)) if (Number.isFinite(values[k])) v[k] = values[k] as number;
  const last = s.buckets[s.buckets.length - 1];
  if (last && last.t === start) mergeInto(s, last, { t: start, n: 1, v });
  else s.buckets.push({ t: start, n: 1, v });
  compact(s);
  return s;
}
