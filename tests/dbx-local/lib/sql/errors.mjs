// Error types shared by the SQL layer and the Engine. SqlError carries a Databricks error class and
// SQLSTATE and formats its message the way Databricks does ("[CLASS] text SQLSTATE: xxxxx"), so the
// statements layer can pass it through unchanged. ApiError is the REST-side counterpart.

export class SqlError extends Error {
  /** errorClass: e.g. 'TABLE_OR_VIEW_NOT_FOUND'; sqlState: 5 chars; text: message without prefix. */
  constructor(errorClass, sqlState, text) {
    super(`[${errorClass}] ${text}${sqlState ? ` SQLSTATE: ${sqlState}` : ''}`);
    this.name = 'SqlError';
    this.errorClass = errorClass;
    this.sqlState = sqlState;
  }
}

export class ApiError extends Error {
  /** status: HTTP status; errorCode: Databricks error_code such as RESOURCE_DOES_NOT_EXIST. */
  constructor(status, errorCode, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.errorCode = errorCode;
  }
}

/** A [PARSE_SYNTAX_ERROR] naming the offending token, as Spark's parser reports it. */
export function syntaxError(near) {
  const shown = near === undefined || near === null ? 'end of input' : `'${near}'`;
  return new SqlError('PARSE_SYNTAX_ERROR', '42601', `Syntax error at or near ${shown}.`);
}

/** Feature outside what dbx-local emulates: never answered with a silent wrong result. */
export function unsupported(what) {
  return new SqlError('UNSUPPORTED_FEATURE', '0A000', `The feature is not supported: ${what}.`);
}

/** Renders a dotted name the way Databricks quotes it in messages: `a`.`b`.`c`. */
export function quoteName(parts) {
  return parts.map((p) => '`' + String(p).replace(/`/g, '``') + '`').join('.');
}
