/** The logging surface core/jobs needs (pino's shape); callers pass their logger, tests may pass none. */
export interface Log {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export const silentLog: Log = { info() {}, warn() {}, error() {} };
