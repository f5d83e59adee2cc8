/** Positive integer settings read from the environment by name, over their defaults. */
export function readIntEnv<K extends string>(
  env: Record<string, string | undefined>,
  names: Record<K, string>,
  defaults: Record<K, number>,
): Record<K, number> {
  const out = { ...defaults };
  for (const [key, name] of Object.entries(names) as [K, string][]) {
    const raw = env[name];
    if (raw === undefined || raw === "") continue;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1) {
      throw new Error(
        `Environment variable ${name} must be a positive integer, got "${raw.slice(0, 40)}"`,
      );
    }
    out[key] = n;
  }
  return out;
}
