import { describe, expect, it } from 'vitest';
import { bucketLabel, centsLabel, usdToCents } from './revenue-chart';

describe('revenue chart figures', () => {
  it('reads the API’s USD strings as exact whole cents', () => {
    expect(usdToCents('0.00')).toBe(0);
    expect(usdToCents('12.34')).toBe(1234);
    expect(usdToCents('0.07')).toBe(7);
    expect(usdToCents('1234567.89')).toBe(123456789);
    expect(usdToCents('5')).toBe(500);
  });

  it('labels axis ticks in dollars and cents', () => {
    expect(centsLabel(0)).toBe('$0.00');
    expect(centsLabel(1234)).toBe('$12.34');
    expect(centsLabel(123456789)).toBe('$1,234,567.89');
    expect(centsLabel(1999.6)).toBe('$20.00');
  });

  it('names buckets in UTC, weeks by their Monday', () => {
    expect(bucketLabel('2026-03-02T00:00:00Z', 'week')).toMatch(/^week of /);
    expect(bucketLabel('2026-03-01T00:00:00Z', 'month')).toMatch(/2026/);
  });
});
