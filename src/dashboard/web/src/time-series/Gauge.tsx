import { formatNumber } from './points.js';

const R = 80;
const CX = 100;
const CY = 95;

/** The point on the gauge's half circle at fraction `f` (0 = left end, 1 = right end). */
function at(f: number): [number, number] {
  const angle = Math.PI * (1 - f);
  return [CX + R * Math.cos(angle), CY - R * Math.sin(angle)];
}

function arc(from: number, to: number): string {
  const [x1, y1] = at(from);
  const [x2, y2] = at(to);
  return `M ${x1.toFixed(2)} ${y1.toFixed(2)} A ${R} ${R} 0 0 1 ${x2.toFixed(2)} ${y2.toFixed(2)}`;
}

/**
 * A half-circle gauge of one value between `min` and `max`. Plain SVG: one arc and a number
 * do not need a charting library, and SVG stays sharp and readable by screen readers (role meter).
 */
/** `note`: a small line under the number (the value's time). */
export function Gauge({ value, min, max, label, note }: { value: number | null; min: number; max: number; label: string; note?: string | undefined }) {
  const span = max - min;
  const fraction = value === null || span <= 0 ? 0 : Math.min(1, Math.max(0, (value - min) / span));
  const outside = value !== null && (value < min || value > max);
  return (
    <figure className="gauge" data-testid="gauge">
      <svg
        viewBox="0 0 200 115"
        role="meter"
        aria-label={label}
        aria-valuemin={min}
        aria-valuemax={max}
        {...(value === null ? { 'aria-valuetext': 'no data' } : { 'aria-valuenow': value })}
      >
        <path d={arc(0, 1)} className="gauge-track" />
        {value !== null && fraction > 0 && <path d={arc(0, fraction)} className={outside ? 'gauge-value gauge-outside' : 'gauge-value'} />}
        <text x={CX} y={CY - 12} textAnchor="middle" className="gauge-number" data-testid="gauge-value">
          {formatNumber(value)}
        </text>
        {note && (
          <text x={CX} y={CY + 8} textAnchor="middle" className="gauge-note">
            {note}
          </text>
        )}
        <text x={CX - R} y={CY + 16} textAnchor="middle" className="gauge-scale">
          {formatNumber(min)}
        </text>
        <text x={CX + R} y={CY + 16} textAnchor="middle" className="gauge-scale">
          {formatNumber(max)}
        </text>
      </svg>
      <figcaption>{label}</figcaption>
    </figure>
  );
}
