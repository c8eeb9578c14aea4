import { CodecError, type CodecErrorCode, type CodecProblem, type CodecWarningCode } from '../errors.js';

/** Problems of one code reported individually before the rest are summarised. */
const MAX_PROBLEMS_PER_CODE = 50;

/** Collects hard errors and warnings, capping each code so hostile input cannot flood the report. */
export class Problems {
  readonly errors: CodecProblem[] = [];
  readonly warnings: CodecProblem[] = [];
  private readonly counts = new Map<string, number>();
  private readonly suppressed = new Map<string, { count: number; field: string; isError: boolean }>();

  /** `message` may be a function, so texts past the cap are never built. */
  error(code: CodecErrorCode, message: string | (() => string), field: string): void {
    this.add(this.errors, code, message, field, true);
  }

  warn(code: CodecWarningCode, message: string | (() => string), field: string): void {
    this.add(this.warnings, code, message, field, false);
  }

  /** Records and throws: for problems that leave nothing sensible to check after them. */
  fatal(code: CodecErrorCode, message: string, field: string): never {
    this.error(code, message, field);
    throw this.toError();
  }

  /** Runs a typed accessor; its CodecError becomes a recorded problem. */
  attempt<T>(fn: () => T): T | undefined {
    try {
      return fn();
    } catch (e) {
      if (!(e instanceof CodecError)) throw e;
      this.error(e.code, e.message, e.field ?? '');
      return undefined;
    }
  }

  private add(list: CodecProblem[], code: CodecErrorCode | CodecWarningCode, message: string | (() => string), field: string, isError: boolean): void {
    const n = (this.counts.get(code) ?? 0) + 1;
    this.counts.set(code, n);
    if (n <= MAX_PROBLEMS_PER_CODE) {
      list.push({ code, message: typeof message === 'string' ? message : message(), field });
      return;
    }
    const s = this.suppressed.get(code);
    if (s) s.count++;
    else this.suppressed.set(code, { count: 1, field, isError });
  }

  /** Adds one summary line per capped code. Call once, at the end. */
  finish(): void {
    for (const [code, s] of this.suppressed) {
      const p = { code: code as CodecErrorCode, message: `${s.count} more of the same`, field: s.field };
      (s.isError ? this.errors : this.warnings).push(p);
    }
    this.suppressed.clear();
  }

  toError(): CodecError {
    this.finish();
    const first = this.errors[0]!;
    const more = this.errors.length > 1 ? ` (and ${this.errors.length - 1} more problems)` : '';
    return new CodecError(first.code as CodecErrorCode, first.message + more, { field: first.field, problems: [...this.errors] });
  }
}
