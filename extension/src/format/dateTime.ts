// The run-format schema's one string format, "date-time" (RFC 3339), for the generated validators
// (generated/runFormatValidators.ts) and the tests: the pattern plus Date.parse, which rejects
// impossible dates such as 2026-13-40.

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

export function isDateTime(value: string): boolean {
  return RFC3339.test(value) && !Number.isNaN(Date.parse(value));
}

/** ajv's format table, as the generated code looks formats up. */
export const dateTimeFormats = { 'date-time': isDateTime } as const;
