// "New config from the schema...": the starting mgrpo.config.json, built from the defaults in
// trainer/mgrpo/schemas/config.schema.json so the scaffold can never drift from the trainer.
// Pure (no vscode); tested in test/unit/configScaffold.test.ts against the real schema.

interface ConfigSchema {
  properties?: Record<string, { default?: unknown }>;
}

/**
 * Every property of the schema that has a default, in schema order, with that default, and
 * `model_name_or_path` set to the shipped demo model when the schema leaves it null, so the
 * scaffold trains as written. `$schema` comes first when `schemaRef` is given (the extension
 * leaves it out: its jsonValidation already validates mgrpo.config.json, and a `$schema` would
 * override that with a path that changes with every install).
 */
export function scaffoldConfig(schema: unknown, opts: { schemaRef?: string; demoModelPath: string }): Record<string, unknown> {
  const properties = (schema as ConfigSchema | null)?.properties;
  if (!properties || typeof properties !== 'object') {
    throw new Error('config schema has no "properties" object: cannot scaffold a config from it');
  }
  const config: Record<string, unknown> = opts.schemaRef === undefined ? {} : { $schema: opts.schemaRef };
  for (const [key, property] of Object.entries(properties)) {
    if (key === '$schema' || property === null || typeof property !== 'object' || !('default' in property)) continue;
    config[key] = structuredClone(property.default);
  }
  if ('model_name_or_path' in config && config.model_name_or_path === null) {
    config.model_name_or_path = opts.demoModelPath;
  }
  return config;
}

/** The file text: two-space JSON with a final newline, as the trainer's own files are written. */
export function scaffoldText(config: Record<string, unknown>): string {
  return `${JSON.stringify(config, null, 2)}\n`;
}
