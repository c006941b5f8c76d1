/** Time-series names as the server accepts them in widget columns (`auto~` names included). */
const SERIES_PATTERN = /^[A-Za-z0-9_~.-]+$/;

/** What is wrong with the time-series columns (name pattern, a series twice), or null. */
export function seriesColumnProblem(rows: ReadonlyArray<{ key: string; source?: string }>): string | null {
  const series = rows.filter((r) => r.source === 'time-series');
  const bad = series.find((r) => !SERIES_PATTERN.test(r.key));
  if (bad) return `Time series "${bad.key}" is not a series name: use letters, digits, _, ~, . and - only.`;
  const seen = new Set<string>();
  const twice = series.find((r) => (seen.has(r.key) ? true : (seen.add(r.key), false)));
  return twice ? `Time series "${twice.key}" is used by two columns.` : null;
}
