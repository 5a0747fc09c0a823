import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { scaffoldConfig, scaffoldText } from '../../extension/src/model/configScaffold';

const schemaPath = path.join(__dirname, '../../trainer/mgrpo/schemas/config.schema.json');
const schema = JSON.parse(fs.readFileSync(schemaPath, 'utf8')) as { properties: Record<string, { default?: unknown }> };

describe('configScaffold (New config from the schema...)', () => {
  const config = scaffoldConfig(schema, { schemaRef: './schema.json', demoModelPath: '/ext/trainer/models/mgrpo-demo-tiny' });

  it('writes every schema default, in schema order, after $schema', () => {
    const withDefaults = Object.entries(schema.properties).filter(([k, p]) => k !== '$schema' && 'default' in p).map(([k]) => k);
    assert.deepEqual(Object.keys(config), ['$schema', ...withDefaults]);
    for (const key of withDefaults) {
      if (key === 'model_name_or_path') continue;
      assert.deepEqual(config[key], schema.properties[key].default, key);
    }
    assert.equal(config.$schema, './schema.json');
  });

  it('points a null model at the shipped demo model so the scaffold trains as written', () => {
    assert.equal(schema.properties.model_name_or_path.default, null);
    assert.equal(config.model_name_or_path, '/ext/trainer/models/mgrpo-demo-tiny');
  });

  it('copies defaults rather than sharing them with the schema', () => {
    const arrays = Object.entries(config).filter(([, v]) => Array.isArray(v));
    for (const [key, value] of arrays) assert.notEqual(value, schema.properties[key].default, key);
  });

  it('leaves $schema out when no reference is given', () => {
    const plain = scaffoldConfig(schema, { demoModelPath: 'm' });
    assert.ok(!('$schema' in plain));
    assert.deepEqual(Object.keys(plain), Object.keys(config).slice(1));
  });

  it('round-trips through its text', () => {
    const text = scaffoldText(config);
    assert.ok(text.endsWith('}\n'));
    assert.deepEqual(JSON.parse(text), config);
  });

  it('names the problem when the schema has no properties', () => {
    assert.throws(() => scaffoldConfig({ type: 'object' }, { schemaRef: 'x', demoModelPath: 'y' }), /no "properties" object/);
  });
});
