import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { Revenue } from '../api/client';

/** "12.34" → 1234: whole cents, exact (the API's USD strings always have two decimals). */
export function usdToCents(usd: string): number {
  const [whole = '0', fraction = '00'] = usd.split('.');
  return Number(whole) * 100 + Number(fraction.padEnd(2, '0').slice(0, 2));
}

/** 1234 → "$12.34", from whole cents (axis ticks are rounded to a cent first). */
export function centsLabel(cents: number): string {
  const rounded = Math.round(cents);
  return `$${Math.floor(rounded / 100).toLocaleString('en-US')}.${String(rounded % 100).padStart(2, '0')}`;
}

const BUCKET_LABEL: Record<Revenue['interval'], Intl.DateTimeFormatOptions> = {
  day: { day: 'numeric', month: 'short', timeZone: 'UTC' },
  week: { day: 'numeric', month: 'short', timeZone: 'UTC' },
  month: { month: 'short', year: 'numeric', timeZone: 'UTC' },
};

export function bucketLabel(start: string, interval: Revenue['interval']): string {
  const label = new Date(start).toLocaleDateString(undefined, BUCKET_LABEL[interval]);
  return interval === 'week' ? `week of ${label}` : label;
}

const HALF_BUCKET_SECONDS: Record<Revenue['interval'], number> = { day: 43_200, week: 302_400, month: 1_314_000 };

function cssColor(element: Element, name: string): string {
  return getComputedStyle(element).getPropertyValue(name).trim() || '#0b5cad';
}

/**
 * Revenue per bucket as bars (uPlot: canvas, 50 KB, no dependencies), in cents so the plotted
 * heights are whole numbers; the exact figures are in the table under it, which is also what screen
 * readers get. Colours come from the page's CSS variables, so light and dark both read.
 */
export function RevenueChart({ revenue }: { revenue: Revenue }) {
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = host.current;
    if (!element) return;
    const accent = cssColor(element, '--accent');
    const text = cssColor(element, '--muted');
    const grid = cssColor(element, '--border');
    const axis = { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    const data: uPlot.AlignedData = [revenue.points.map((point) => Date.parse(point.start) / 1000), revenue.points.map((point) => usdToCents(point.revenueUsd))];
    const bars = uPlot.paths.bars?.({ size: [0.7, 40], align: 0 });
    const chart = new uPlot(
      {
        width: Math.max(element.clientWidth, 280),
        height: 220,
        tzDate: (seconds) => uPlot.tzDate(new Date(seconds * 1000), 'Etc/UTC'),
        legend: { show: false },
        cursor: { y: false },
        // Half a bucket of room each side so the first and last bars are whole; 10 % headroom on top.
        scales: {
          x: { time: true, range: (_u, min, max) => [min - HALF_BUCKET_SECONDS[revenue.interval], max + HALF_BUCKET_SECONDS[revenue.interval]] },
          y: { range: (_u, _min, max) => [0, Math.max(Math.ceil(max * 1.1), 100)] },
        },
        axes: [axis, { ...axis, size: 72, values: (_u, ticks) => ticks.map(centsLabel) }],
        series: [{}, { label: 'Revenue', stroke: accent, fill: accent, width: 0, points: { show: false }, ...(bars ? { paths: bars } : {}) }],
      },
      data,
      element,
    );
    const resize = new ResizeObserver(() => chart.setSize({ width: Math.max(element.clientWidth, 280), height: 220 }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      chart.destroy();
    };
  }, [revenue]);
  return <div ref={host} className="revenue-chart" aria-hidden="true" data-testid="revenue-chart" />;
}
