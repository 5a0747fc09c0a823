import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { EVENT_KINDS, LineSplitter, ProtocolError, encodeCommand, parseEvent } from '../../extension/src/format/protocol';
import type { TrainerEvent } from '../../extension/src/format/types';
import { FIXTURE_RUN, SCHEMA_PATH } from './fixture';

const schema = JSON.parse(readFileSync(SCHEMA_PATH, 'utf8'));
const ajv = new Ajv2020({ allErrors: true });
ajv.addFormat('date-time', { type: 'string', validate: (s: string) => !Number.isNaN(Date.parse(s)) });
ajv.addSchema(schema);
const eventSchema = ajv.getSchema(`${schema.$id}#/$defs/event`)!;
const commandSchema = ajv.getSchema(`${schema.$id}#/$defs/command`)!;

const metricsLine = JSON.parse(readFileSync(path.join(FIXTURE_RUN, 'metrics.jsonl'), 'utf8').split('\n')[0]);
const evalMetrics = JSON.parse(readFileSync(path.join(FIXTURE_RUN, 'eval', 'step-000000.json'), 'utf8')).metrics;

/** One event of every kind, as the trainer would write it. */
const EXAMPLES: Record<TrainerEvent['event'], TrainerEvent> = {
  started: { event: 'started', protocol: 1, run_id: 'r1', run_dir: '/runs/r1', pid: 4242, total_steps: 100, start_step: 1, device: 'cpu' },
  step: { event: 'step', step: 1, total_steps: 100, metrics: metricsLine },
  rollouts: { event: 'rollouts', step: 1, path: 'rollouts/step-000001.jsonl', count: 12 },
  checkpoint: { event: 'checkpoint', step: 10, path: 'checkpoints/step-000010' },
  eval: { event: 'eval', step: 0, path: 'eval/step-000000.json', metrics: evalMetrics },
  log: { event: 'log', level: 'info', message: 'step 1 done' },
  warning: { event: 'warning', message: 'malformed command ignored' },
  error: { event: 'error', message: 'CUDA out of memory', detail: 'Traceback ...' },
  paused: { event: 'paused', step: 3 },
  resumed: { event: 'resumed', step: 3 },
  finished: { event: 'finished', status: 'stopped', step: 3 },
};

/** Lines the schema rejects, and the problem parseEvent must name. */
const INVALID: [string, RegExp][] = [
  ['not json at all', /trainer output is not JSON/],
  ['[1,2]', /not a JSON object/],
  ['{"step": 1}', /no "event" field/],
  ['{"event": "exploded"}', /unknown trainer event "exploded"/],
  ['{"event": "paused"}', /"paused" event is missing "step"/],
  ['{"event": "paused", "step": "3"}', /"paused" event: "step" should be an integer, got "3"/],
  ['{"event": "paused", "step": 1.5}', /"step" should be an integer/],
  ['{"event": "log", "level": "shout", "message": "x"}', /"level" should be one of "debug", "info", got "shout"/],
  ['{"event": "finished", "status": "exploded", "step": 1}', /"status" should be one of/],
  ['{"event": "started", "protocol": 2, "run_id": "r", "run_dir": "d", "pid": 1, "total_steps": 1, "start_step": 1}', /"protocol" should be one of 1, got 2/],
  ['{"event": "error", "message": "x", "detail": 5}', /"detail" should be a string/],
  ['{"event": "step", "step": 1, "total_steps": 1, "metrics": {"step": 1}}', /"step" event: metrics line for step 1: missing "time"/],
];

describe('trainer protocol codec', () => {
  it('covers every event kind of the schema', () => {
    const kinds = (schema.$defs.event.oneOf as { properties: { event: { const: string } } }[]).map((o) => o.properties.event.const);
    assert.deepEqual([...kinds].sort(), [...EVENT_KINDS].sort());
    assert.deepEqual(Object.keys(EXAMPLES).sort(), [...kinds].sort());
  });

  for (const [kind, event] of Object.entries(EXAMPLES)) {
    it(`parses a "${kind}" event that the schema accepts`, () => {
      assert.ok(eventSchema(event), ajv.errorsText(eventSchema.errors));
      const line = JSON.stringify(event);
      assert.deepEqual(parseEvent(line), event);
      assert.deepEqual(parseEvent(line + '\r'), event, 'a CRLF line');
    });
  }

  for (const [line, problem] of INVALID) {
    it(`rejects ${line.slice(0, 60)} naming the problem`, () => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        parsed = undefined;
      }
      if (parsed !== undefined) assert.equal(eventSchema(parsed), false, 'the schema rejects it too');
      assert.throws(() => parseEvent(line), (error: unknown) => error instanceof ProtocolError && problem.test(error.message));
    });
  }

  it('encodes every command as one schema-valid line', () => {
    for (const command of ['stop', 'pause', 'resume', 'checkpoint'] as const) {
      const line = encodeCommand({ command });
      assert.equal(line, `{"command":"${command}"}\n`);
      assert.ok(commandSchema(JSON.parse(line)));
    }
    assert.throws(() => encodeCommand({ command: 'explode' } as never), /unknown trainer command "explode"/);
  });

  it('encodes Save Checkpoint Now as the line the trainer reads between steps', () => {
    // mgrpo.saveCheckpoint sends exactly this; the trainer's stdin reader (trainer/mgrpo/protocol.py) splits on "\n".
    const line = encodeCommand({ command: 'checkpoint' });
    assert.equal(line, '{"command":"checkpoint"}\n');
    assert.equal(line.indexOf('\n'), line.length - 1, 'one line, newline-terminated');
    assert.deepEqual(JSON.parse(line), { command: 'checkpoint' });
    assert.ok(commandSchema(JSON.parse(line)));
    assert.equal(commandSchema({ command: 'checkpoint', step: 3 }), false, 'the schema admits no extra fields');
  });

  describe('LineSplitter', () => {
    it('reassembles events split across chunks anywhere, CRLF included', () => {
      const stream = Object.values(EXAMPLES).map((e) => JSON.stringify(e)).join('\r\n') + '\r\n';
      for (const size of [1, 2, 3, 7, 64, 1000]) {
        const splitter = new LineSplitter();
        const lines: string[] = [];
        for (let i = 0; i < stream.length; i += size) lines.push(...splitter.push(stream.slice(i, i + size)));
        lines.push(...splitter.flush());
        assert.deepEqual(lines.map(parseEvent), Object.values(EXAMPLES), `chunks of ${size}`);
      }
    });

    it('keeps a partial line until its newline, and flushes what is left at the end', () => {
      const splitter = new LineSplitter();
      assert.deepEqual(splitter.push('{"event": "paus'), []);
      assert.deepEqual(splitter.push('ed", "step": 2}\n{"event": "resumed"'), ['{"event": "paused", "step": 2}']);
      assert.deepEqual(splitter.push(', "step": 2}'), []);
      assert.deepEqual(splitter.flush(), ['{"event": "resumed", "step": 2}']);
      assert.deepEqual(splitter.flush(), []);
    });
  });
});
