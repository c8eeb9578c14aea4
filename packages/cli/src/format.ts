import { UsageError } from './exit-codes.js';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** 1536 → "1.50 KiB"; under 1 KiB whole bytes (a rate is a float: 560.06 → "560 B"). */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return '?';
  // Rounded first, so 1023.7 becomes 1.00 KiB rather than "1024 B".
  let v = Math.abs(n) < 1024 ? Math.round(Math.abs(n)) : Math.abs(n);
  let i = 0;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  const s = i === 0 ? String(v) : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
  return `${n < 0 && v !== 0 ? '-' : ''}${s} ${UNITS[i]}`;
}

export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(bytesPerSecond)}/s`;
}

/** Seconds → "1h02m", "3m05s", "12s"; unknown → "--". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400 * 2) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d${String(Math.floor((s % 86400) / 3600)).padStart(2, '0')}h`;
}

const SIZE_SUFFIX: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** "5M", "500k", "1.5G", "1024" → bytes; "5MB"/"5MiB" accepted too. Bad input is a usage error naming the option. */
export function parseSize(text: string, option: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(text);
  if (!m) throw new UsageError(`${option}: cannot read ${JSON.stringify(text)} as a size`, 'use a number with an optional unit: 500k, 5M, 1G');
  const value = Number(m[1]) * SIZE_SUFFIX[m[2]!.toLowerCase()]!;
  if (!Number.isSafeInteger(Math.round(value))) throw new UsageError(`${option}: ${text} is too large`);
  return Math.round(value);
}
