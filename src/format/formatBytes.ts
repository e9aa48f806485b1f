/**
 * A byte count for people, in decimal units as disks and Telegram's limits are stated: "950 B", "12.3 kB",
 * "9.7 MB", "46.6 MB", "1.2 GB" (two significant digits under 10, three above).
 */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0
    ? `${Math.round(value)} B`
    : `${Number(value.toPrecision(value < 10 ? 2 : 3))} ${units[unit]}`;
}
