// The trainer protocol (RUN_FORMAT.md, $defs/event and $defs/command): one JSON object per line,
// events on the trainer's stdout, commands on its stdin.

import type { TrainerCommand, TrainerEvent } from './types';
import { errorText } from './errorText';
import { parseMetricsLine } from './validate';

export class ProtocolError extends Error {
  override name = 'ProtocolError';
  constructor(
    message: string,
    /** The offending line, shortened. */
    readonly line: string,
  ) {
    super(message);
  }
}

type FieldType = 'string' | 'integer' | 'object';
interface EventShape {
  required: Record<string, FieldType>;
  optional?: Record<string, FieldType>;
  /** Fields restricted to a set of values. */
  values?: Record<string, readonly unknown[]>;
}

/** What each event kind must carry, as $defs/event says. */
const EVENT_SHAPES: Record<TrainerEvent['event'], EventShape> = {
  started: {
    required: { protocol: 'integer', run_id: 'string', run_dir: 'string', pid: 'integer', total_steps: 'integer', start_step: 'integer' },
    optional: { device: 'string' },
    values: { protocol: [1] },
  },
  step: { required: { step: 'integer', total_steps: 'integer', metrics: 'object' } },
  rollouts: { required: { step: 'integer', path: 'string', count: 'integer' } },
  checkpoint: { required: { step: 'integer', path: 'string' } },
  eval: { required: { step: 'integer', path: 'string', metrics: 'object' } },
  log: { required: { level: 'string', message: 'string' }, values: { level: ['debug', 'info'] } },
  warning: { required: { message: 'string' } },
  error: { required: { message: 'string' }, optional: { detail: 'string' } },
  paused: { required: { step: 'integer' } },
  resumed: { required: { step: 'integer' } },
  finished: { required: { status: 'string', step: 'integer' }, values: { status: ['finished', 'stopped', 'failed'] } },
};

export const EVENT_KINDS = Object.keys(EVENT_SHAPES) as TrainerEvent['event'][];

const COMMANDS: readonly TrainerCommand['command'][] = ['stop', 'pause', 'resume', 'checkpoint'];

function shorten(line: string): string {
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

function hasType(value: unknown, type: FieldType): boolean {
  if (type === 'integer') return Number.isInteger(value);
  if (type === 'object') return typeof value === 'object' && value !== null && !Array.isArray(value);
  return typeof value === type;
}

/** Parses one line of the trainer's stdout; throws ProtocolError saying what is wrong. */
export function parseEvent(line: string): TrainerEvent {
  const text = line.endsWith('\r') ? line.slice(0, -1) : line;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ProtocolError(`trainer output is not JSON (${errorText(error)}): ${shorten(text)}`, shorten(text));
  }
  if (!hasType(value, 'object')) throw new ProtocolError(`trainer event is not a JSON object: ${shorten(text)}`, shorten(text));
  const event = value as Record<string, unknown>;
  const kind = event.event;
  if (typeof kind !== 'string') throw new ProtocolError(`trainer event has no "event" field: ${shorten(text)}`, shorten(text));
  const shape = (EVENT_SHAPES as Record<string, EventShape | undefined>)[kind];
  if (!shape) throw new ProtocolError(`unknown trainer event "${kind}" (known: ${EVENT_KINDS.join(', ')})`, shorten(text));
  for (const [key, type] of Object.entries(shape.required)) {
    if (!(key in event)) throw new ProtocolError(`"${kind}" event is missing "${key}"`, shorten(text));
    if (!hasType(event[key], type)) throw new ProtocolError(`"${kind}" event: "${key}" should be ${type === 'integer' ? 'an integer' : `a ${type}`}, got ${JSON.stringify(event[key])}`, shorten(text));
  }
  for (const [key, type] of Object.entries(shape.optional ?? {})) {
    if (key in event && !hasType(event[key], type)) throw new ProtocolError(`"${kind}" event: "${key}" should be a ${type}, got ${JSON.stringify(event[key])}`, shorten(text));
  }
  for (const [key, allowed] of Object.entries(shape.values ?? {})) {
    if (!allowed.includes(event[key])) {
      throw new ProtocolError(`"${kind}" event: "${key}" should be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}, got ${JSON.stringify(event[key])}`, shorten(text));
    }
  }
  if (kind === 'step') {
    try {
      parseMetricsLine(event.metrics);
    } catch (error) {
      throw new ProtocolError(`"step" event: ${errorText(error)}`, shorten(text));
    }
  }
  return event as unknown as TrainerEvent;
}

/** One command line for the trainer's stdin, newline included. */
export function encodeCommand(command: TrainerCommand): string {
  if (!COMMANDS.includes(command.command)) throw new ProtocolError(`unknown trainer command "${String(command.command)}"`, JSON.stringify(command));
  return `${JSON.stringify({ command: command.command })}\n`;
}

/**
 * Cuts a stream of text chunks (stdout 'data' events split anywhere) into lines. Line breaks
 * are \n or \r\n; a chunk boundary between \r and \n is handled.
 */
export class LineSplitter {
  private partial = '';

  /** Complete lines in the order they arrived, without their line breaks. */
  push(chunk: string): string[] {
    const text = this.partial + chunk;
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    return lines.map(stripCarriageReturn);
  }

  /** What is left at end of stream, as a last line (none when nothing is left). */
  flush(): string[] {
    const rest = stripCarriageReturn(this.partial);
    this.partial = '';
    return rest.length > 0 ? [rest] : [];
  }
}

function stripCarriageReturn(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}
