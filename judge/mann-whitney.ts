// The fixed-horizon judgement Kayenta uses: a one-sided Mann-Whitney U test of "the experiment's values
// are larger than the control's", normal approximation with tie correction. Pure; used by bench:judge.

/** Standard normal upper tail P(Z >= z) (Abramowitz-Stegun 7.1.26 on erfc; error < 1.5e-7). */
export function normalUpperTail(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erfc =
    t *
    (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) *
    Math.exp(-x * x);
  return z >= 0 ? erfc / 2 : 1 - erfc / 2;
}

/** One-sided p-value that `experiment` is stochastically larger than `control`. */
export function mannWhitneyGreater(control: number[], experiment: number[]): number {
  const n1 = experiment.length;
  const n2 = control.length;
  if (!n1 || !n2) return 1;
  const all = [...experiment.map((v) => ({ v, g: 1 })), ...control.map((v) => ({ v, g: 2 }))].sort((a, b) => a.v - b.v);
  const ranks = new Array<number>(all.length);
  let tie = 0;
  for (let i = 0; i < all.length;) {
    let j = i;
    while (j + 1 < all.length && all[j + 1]!.v === all[i]!.v) j++;
    const r = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[k] = r;
    const t = j - i + 1;
    tie += t * t * t - t;
    i = j + 1;
  }
  let r1 = 0;
  all.forEach((a, i) => {
    if (a.g === 1) r1 += ranks[i]!;
  });
  const u = r1 - (n1 * (n1 + 1)) / 2;
  const n = n1 + n2;
  const mu = (n1 * n2) / 2;
  const sigma2 = ((n1 * n2) / 12) * (n + 1 - tie / (n * (n - 1)));
  if (sigma2 <= 0) return 1;
  return normalUpperTail((u - mu - 0.5) / Math.sqrt(sigma2));
}
