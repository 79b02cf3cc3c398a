/**
 * Search, shared by the browser and the server: one tokenizer (tokenize.ts), one query
 * language (query.ts), and the query evaluated over plain records (match.ts). The
 * server evaluates the same plan as SQL over the tokens stored with each list row.
 * This entry loads the pinyin dictionary; a page that only reads queries imports
 * query.ts instead.
 */
export { fold, tokenize, phoneForms, PREFIX_MAX, SEARCH_VERSION, MAX_RECORD_TOKENS, MAX_NOTES_CHARS } from './tokenize.ts';
export { recordTokens, tokenPrefixes, recordSearchEntry } from './record.ts';
export { parseQuery, searchParam, termMatches, isEmptyQuery, MAX_QUERY_LENGTH, MAX_TERMS } from './query.ts';
export type { SearchQuery, ParsedSearch, Clause, TokenMatch, PrefixMatch, ColumnFilter, ComparisonOp, FieldCondition, QueryOptions } from './query.ts';
export { matches, score, searchable, type Searchable } from './match.ts';
