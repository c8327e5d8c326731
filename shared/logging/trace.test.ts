import { describe, expect, it } from 'vitest';
import { cloudTraceFields } from './index.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const TRACE = `projects/pgp-prod/traces/${TRACE_ID}`;

describe('cloudTraceFields', () => {
  const cases: { name: string; header: string | undefined; expected: Record<string, unknown> }[] = [
    {
      name: 'a sampled W3C traceparent',
      header: `00-${TRACE_ID}-00f067aa0ba902b7-01`,
      expected: {
        'logging.googleapis.com/trace': TRACE,
        'logging.googleapis.com/spanId': '00f067aa0ba902b7',
        'logging.googleapis.com/trace_sampled': true,
      },
    },
    {
      name: 'an unsampled traceparent in upper case with surrounding spaces',
      header: ` 00-${TRACE_ID.toUpperCase()}-00F067AA0BA902B7-00 `,
      expected: {
        'logging.googleapis.com/trace': TRACE,
        'logging.googleapis.com/spanId': '00f067aa0ba902b7',
        'logging.googleapis.com/trace_sampled': false,
      },
    },
    {
      name: 'an X-Cloud-Trace-Context with a decimal span id converted to 16 hex',
      header: `${TRACE_ID}/1;o=1`,
      expected: {
        'logging.googleapis.com/trace': TRACE,
        'logging.googleapis.com/spanId': '0000000000000001',
        'logging.googleapis.com/trace_sampled': true,
      },
    },
    {
      name: 'an X-Cloud-Trace-Context with the largest span id',
      header: `${TRACE_ID}/18446744073709551615`,
      expected: { 'logging.googleapis.com/trace': TRACE, 'logging.googleapis.com/spanId': 'ffffffffffffffff' },
    },
    {
      name: 'an X-Cloud-Trace-Context with only a trace id',
      header: TRACE_ID,
      expected: { 'logging.googleapis.com/trace': TRACE },
    },
    { name: 'no header', header: undefined, expected: {} },
    { name: 'an empty header', header: '  ', expected: {} },
    { name: 'garbage', header: 'not-a-trace', expected: {} },
    { name: 'a traceparent with version ff', header: `ff-${TRACE_ID}-00f067aa0ba902b7-01`, expected: {} },
    { name: 'a traceparent with an all-zero trace id', header: `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`, expected: {} },
    { name: 'a traceparent with an all-zero span id', header: `00-${TRACE_ID}-${'0'.repeat(16)}-01`, expected: {} },
    { name: 'a traceparent with a short trace id', header: `00-${TRACE_ID.slice(1)}-00f067aa0ba902b7-01`, expected: {} },
    {
      name: 'an X-Cloud-Trace-Context whose span id overflows 64 bits (trace kept, span dropped)',
      header: `${TRACE_ID}/18446744073709551616;o=0`,
      expected: { 'logging.googleapis.com/trace': TRACE, 'logging.googleapis.com/trace_sampled': false },
    },
  ];

  for (const { name, header, expected } of cases) {
    it(`reads ${name}`, () => {
      expect(cloudTraceFields(header, 'pgp-prod')).toEqual(expected);
    });
  }

  it('returns nothing when the project id is unknown', () => {
    expect(cloudTraceFields(`00-${TRACE_ID}-00f067aa0ba902b7-01`, undefined)).toEqual({});
  });
});
