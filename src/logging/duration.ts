// Human durations for log lines ("still failing after 37 attempts over 5m 2s"): the two most
// significant units are plenty for an operator, and a zero second unit is dropped ("5m", not "5m 0s").

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return 'unknown';
  const clamped = Math.max(0, ms);
  if (clamped < 1_000) return `${Math.floor(clamped)}ms`;
  const seconds = Math.floor(clamped / 1_000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return twoUnits(minutes, 'm', seconds % 60, 's');
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return twoUnits(hours, 'h', minutes % 60, 'm');
  return twoUnits(Math.floor(hours / 24), 'd', hours % 24, 'h');
}

function twoUnits(major: number, majorUnit: string, minor: number, minorUnit: string): string {
  return minor === 0 ? `${major}${majorUnit}` : `${major}${majorUnit} ${minor}${minorUnit}`;
}
