// Types for scripts/gen-validators.mjs (imported by test/unit/validators.test.ts).
export declare const SCHEMA_FILE: string;
export declare const OUTPUT_FILE: string;
export declare const VALIDATED_DEFS: readonly string[];
export declare function generateValidators(schemaText: string): string;
