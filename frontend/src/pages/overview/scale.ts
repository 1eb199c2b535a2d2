/** A value axis from 0 with round steps (1, 2, 2.5 or 5 × 10ⁿ), for the overview's hand-drawn chart. */
export function niceTicks(max: number, count = 4): number[] {
  if (!Number.isFinite(max) || max <= 0) return [0, 1];
  const rough = max / count;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = ([1, 2, 2.5, 5, 10].find((m) => m * power >= rough) ?? 10) * power;
  const top = Math.ceil(max / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let i = 0; i * step <= top + step * 1e-9; i++) ticks.push(Number((i * step).toPrecision(12)));
  return ticks;
}

/** Every how many buckets an axis label fits, for at most `most` labels. */
export function labelEvery(buckets: number, most = 8): number {
  return Math.max(1, Math.ceil(buckets / most));
}
