// One way to turn whatever was thrown into text for a message, a log line or a Malformed entry.
// Anything can be thrown (a string, an object from a callback), so nothing here assumes an Error.

export function errorText(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  if (typeof error === 'string') return error;
  try {
    return String(error);
  } catch {
    return 'unknown error'; // an object whose toString throws
  }
}
