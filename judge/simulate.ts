// Seeded simulation of event streams, for calibration tests and bench:judge. Pure (the seed is the input).

/** Bad events among n, each bad with probability p. */
export function binomial(random: () => number, n: number, p: number): number {
  let x = 0;
  for (let i = 0; i < n; i++) if (random() < p) x++;
  return x;
}
