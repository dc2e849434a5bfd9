// A small cursor over tokens for the recursive-descent parsing of Databricks statements (DDL, DML,
// GRANT, COPY INTO, MERGE). Query bodies are not parsed here: they stay token ranges handed to the
// Translator.
import { syntaxError } from './errors.mjs';
import { isIdent } from './tokenizer.mjs';

export class Cursor {
  constructor(toks, i = 0) { this.toks = toks; this.i = i; }

  peek(k = 0) { return this.toks[this.i + k]; }
  next() { return this.toks[this.i++]; }
  atEnd() { return this.peek().type === 'eof' || (this.peek().type === 'op' && this.peek().value === ';' && this.toks[this.i + 1].type === 'eof'); }

  /** True when the token at offset k is the keyword w (or one of several). */
  isWord(w, k = 0) {
    const t = this.peek(k);
    return t?.type === 'word' && (Array.isArray(w) ? w.includes(t.upper) : t.upper === w);
  }

  isOp(v, k = 0) { const t = this.peek(k); return t?.type === 'op' && t.value === v; }

  /** Consumes the keyword sequence if present, returns whether it did. */
  accept(...words) {
    for (let k = 0; k < words.length; k++) if (!this.isWord(words[k], k)) return false;
    this.i += words.length;
    return true;
  }

  expect(...words) { if (!this.accept(...words)) throw syntaxError(this.peek().text); }
  acceptOp(v) { if (this.isOp(v)) { this.i++; return true; } return false; }
  expectOp(v) { if (!this.acceptOp(v)) throw syntaxError(this.peek().text); }

  /** Identifier value (case preserved). */
  ident() {
    const t = this.peek();
    if (!isIdent(t)) throw syntaxError(t.text);
    this.i++;
    return t.value;
  }

  /** Dotted name as an array of identifier tokens. */
  nameTokens() {
    const parts = [this.peek()];
    this.ident();
    while (this.isOp('.') && isIdent(this.peek(1))) { this.i++; parts.push(this.next()); }
    return parts;
  }

  /** Requires the end of the statement (an optional trailing ';'). */
  end() {
    this.acceptOp(';');
    if (this.peek().type !== 'eof') throw syntaxError(this.peek().text);
  }

  /** Index of the first top-level token at or after this.i matching pred, or the eof index. */
  findTop(pred, from = this.i) {
    let depth = 0;
    for (let j = from; j < this.toks.length; j++) {
      const t = this.toks[j];
      if (t.type === 'eof') return j;
      if (t.type === 'op' && (t.value === '(' || t.value === '[')) depth++;
      else if (t.type === 'op' && (t.value === ')' || t.value === ']')) depth--;
      else if (depth === 0 && pred(t, j)) return j;
      if (depth === 0 && t.type === 'op' && t.value === ';') return j;
    }
    return this.toks.length - 1;
  }
}
