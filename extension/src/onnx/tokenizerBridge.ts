// Text <-> token ids for an export, through Hugging Face's own tokenizer library for JavaScript
// (@huggingface/tokenizers reads the same tokenizer.json the trainer uses; no tokenizer is hand-written here).
// It has no `split_special_tokens` option, which the demo tokenizer (and the trainer) use so that a model
// writing "<eos>" has written five characters: for those, text is encoded by a copy of the tokenizer whose
// special added tokens are not matched in text. Special tokens the template adds (BOS) still come by id.

import { Tokenizer } from '@huggingface/tokenizers';
import { ExportProblem } from './manifest';

export interface TokenizerFiles {
  /** Parsed tokenizer.json. */
  tokenizer: Record<string, unknown>;
  /** Parsed tokenizer_config.json ({} when the export has none). */
  config: Record<string, unknown>;
}

interface AddedTokenJson {
  content: string;
  special?: boolean;
}

export class TraceTokenizer {
  private readonly encoder: Tokenizer;
  private readonly decoder: Tokenizer;

  constructor(files: TokenizerFiles, where: string) {
    try {
      this.decoder = new Tokenizer(files.tokenizer, files.config);
      const splitSpecial = files.config.split_special_tokens === true;
      const added = (files.tokenizer.added_tokens ?? []) as AddedTokenJson[];
      this.encoder = splitSpecial
        ? new Tokenizer({ ...files.tokenizer, added_tokens: added.filter((token) => !token.special) }, files.config)
        : this.decoder;
    } catch (error) {
      throw new ExportProblem('broken', `${where}: the tokenizer cannot be read (${(error as Error).message})`);
    }
  }

  /** Token ids of `text`; `addSpecial` adds what the tokenizer's template adds (BOS for the demo, like the trainer's prompts). */
  encode(text: string, addSpecial: boolean): number[] {
    return this.encoder.encode(text, { add_special_tokens: addSpecial }).ids;
  }

  decode(ids: number[]): string {
    return this.decoder.decode(ids, { skip_special_tokens: true, clean_up_tokenization_spaces: false });
  }

  /**
   * Character offset in `text` where each token starts, when the ids decode back to `text`; where pieces do not
   * decode alone (byte-level BPE splitting a character) the text is decoded prefix by prefix, and the pieces of
   * a split character share the start of the first (the trainer's token_offsets, so recorded offsets line up). Returns null when the ids do not decode to `text`.
   */
  offsets(ids: number[], text: string): number[] | null {
    // Fast path: tokens that each decode to whole characters (character-level and most BPE tokens) concatenate
    // to the text, and their lengths are the offsets. Only when they do not is the text decoded prefix by prefix.
    const pieces = ids.map((id) => this.decode([id]));
    if (pieces.join('') === text) {
      let offset = 0;
      return pieces.map((piece) => {
        const start = offset;
        offset += piece.length;
        return start;
      });
    }
    const starts: number[] = [];
    let previous = '';
    for (let index = 0; index < ids.length; index++) {
      starts.push(previous.length);
      const decoded = this.decode(ids.slice(0, index + 1));
      // A partial multi-byte character decodes to U+FFFD: keep the last clean prefix until it completes, so the
      // pieces of a split character share one start, as the trainer's token_offsets gives them.
      if (!decoded.endsWith('\uFFFD')) previous = decoded;
    }
    return this.decode(ids) === text ? starts.map((start) => Math.min(start, text.length)) : null;
  }

  get vocabularySize(): number {
    return this.decoder.get_vocab(true).size;
  }
}
