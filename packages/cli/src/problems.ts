import { sanitize } from './sanitize.js';

/** A validation problem as codec reports it (`CodecProblem`): a code, a message, the field at fault. */
export interface ProblemLike {
  readonly code: string;
  readonly message: string;
  readonly field: string;
}

/**
 * One line for a problem, safe to print: `field: message`, unless the message already starts with
 * the field (codec's messages usually do) or there is no field.
 */
export function formatProblem(p: ProblemLike): string {
  const text = p.field && !p.message.startsWith(p.field) ? `${p.field}: ${p.message}` : p.message;
  return sanitize(text);
}

/** The JSON form of a problem: the same three fields, whatever else the object carries. */
export function problemJson(p: ProblemLike): { code: string; message: string; field: string } {
  return { code: p.code, message: p.message, field: p.field };
}
