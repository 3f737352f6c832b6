// Typed errors of the client: one class per ZooKeeper error code a caller is likely to branch on,
// each carrying the numeric code and ZooKeeper's name for it (KeeperException.Code), so that
// `error instanceof NoNodeError` and `error.code === Err.NONODE` both work.

import { Err, errName } from "../../core/errors.ts";

export { Err } from "../../core/errors.ts";

export class ZooKeeperError extends Error {
  /** The code a subclass stands for; ZooKeeperError itself takes any code. */
  static readonly errorCode: number = Err.SYSTEMERROR;
  /** ZooKeeper's numeric error code, e.g. -101. */
  readonly code: number;
  /** ZooKeeper's name of the code, e.g. "NONODE". */
  readonly codeName: string;
  /** For a failed multi: the result of every op (the failing one and the rolled-back rest). */
  results?: readonly unknown[];

  constructor(
    /** The path the failed request named (as the caller wrote it, without the chroot). */
    readonly path?: string,
    message?: string,
    code?: number,
  ) {
    const resolved = code ?? (new.target as typeof ZooKeeperError).errorCode;
    super(message ?? `${errName(resolved)}${path === undefined ? "" : ` for ${path}`}`);
    this.name = new.target.name;
    this.code = resolved;
    this.codeName = errName(resolved);
  }
}

export class SystemError extends ZooKeeperError {
  static override readonly errorCode: number = Err.SYSTEMERROR;
}
export class RuntimeInconsistencyError extends ZooKeeperError {
  static override readonly errorCode: number = Err.RUNTIMEINCONSISTENCY;
}
export class DataInconsistencyError extends ZooKeeperError {
  static override readonly errorCode: number = Err.DATAINCONSISTENCY;
}
/** The connection dropped before the reply came: the request may or may not have been applied. */
export class ConnectionLossError extends ZooKeeperError {
  static override readonly errorCode: number = Err.CONNECTIONLOSS;
}
export class MarshallingError extends ZooKeeperError {
  static override readonly errorCode: number = Err.MARSHALLINGERROR;
}
export class UnimplementedError extends ZooKeeperError {
  static override readonly errorCode: number = Err.UNIMPLEMENTED;
}
export class OperationTimeoutError extends ZooKeeperError {
  static override readonly errorCode: number = Err.OPERATIONTIMEOUT;
}
export class BadArgumentsError extends ZooKeeperError {
  static override readonly errorCode: number = Err.BADARGUMENTS;
}
export class UnknownSessionError extends ZooKeeperError {
  static override readonly errorCode: number = Err.UNKNOWNSESSION;
}
export class ApiError extends ZooKeeperError {
  static override readonly errorCode: number = Err.APIERROR;
}
export class NoNodeError extends ZooKeeperError {
  static override readonly errorCode: number = Err.NONODE;
}
export class NoAuthError extends ZooKeeperError {
  static override readonly errorCode: number = Err.NOAUTH;
}
export class BadVersionError extends ZooKeeperError {
  static override readonly errorCode: number = Err.BADVERSION;
}
export class NoChildrenForEphemeralsError extends ZooKeeperError {
  static override readonly errorCode: number = Err.NOCHILDRENFOREPHEMERALS;
}
export class NodeExistsError extends ZooKeeperError {
  static override readonly errorCode: number = Err.NODEEXISTS;
}
export class NotEmptyError extends ZooKeeperError {
  static override readonly errorCode: number = Err.NOTEMPTY;
}
/** The session is gone: its ephemerals are deleted and its watches dropped; the client is done. */
export class SessionExpiredError extends ZooKeeperError {
  static override readonly errorCode: number = Err.SESSIONEXPIRED;
}
export class InvalidAclError extends ZooKeeperError {
  static override readonly errorCode: number = Err.INVALIDACL;
}
export class AuthFailedError extends ZooKeeperError {
  static override readonly errorCode: number = Err.AUTHFAILED;
}
export class SessionMovedError extends ZooKeeperError {
  static override readonly errorCode: number = Err.SESSIONMOVED;
}
export class NotReadOnlyError extends ZooKeeperError {
  static override readonly errorCode: number = Err.NOTREADONLY;
}
export class EphemeralOnLocalSessionError extends ZooKeeperError {
  static override readonly errorCode: number = Err.EPHEMERALONLOCALSESSION;
}
export class NoWatcherError extends ZooKeeperError {
  static override readonly errorCode: number = Err.NOWATCHER;
}
/** No reply within the request's timeout; the request may still be applied. */
export class RequestTimeoutError extends ZooKeeperError {
  static override readonly errorCode: number = Err.REQUESTTIMEOUT;
}
export class ReconfigDisabledError extends ZooKeeperError {
  static override readonly errorCode: number = Err.RECONFIGDISABLED;
}
export class QuotaExceededError extends ZooKeeperError {
  static override readonly errorCode: number = Err.QUOTAEXCEEDED;
}
export class ThrottledOpError extends ZooKeeperError {
  static override readonly errorCode: number = Err.THROTTLEDOP;
}

const classes = new Map<number, typeof ZooKeeperError>(
  [
    SystemError,
    RuntimeInconsistencyError,
    DataInconsistencyError,
    ConnectionLossError,
    MarshallingError,
    UnimplementedError,
    OperationTimeoutError,
    BadArgumentsError,
    UnknownSessionError,
    ApiError,
    NoNodeError,
    NoAuthError,
    BadVersionError,
    NoChildrenForEphemeralsError,
    NodeExistsError,
    NotEmptyError,
    SessionExpiredError,
    InvalidAclError,
    AuthFailedError,
    SessionMovedError,
    NotReadOnlyError,
    EphemeralOnLocalSessionError,
    NoWatcherError,
    RequestTimeoutError,
    ReconfigDisabledError,
    QuotaExceededError,
    ThrottledOpError,
  ].map((c) => [c.errorCode, c]),
);

/** The typed error for a code (a plain ZooKeeperError for codes without a class). */
export function zooKeeperError(code: number, path?: string, message?: string): ZooKeeperError {
  const known = classes.get(code);
  return new (known ?? ZooKeeperError)(path, message, code);
}

/** The client was closed by its owner; nothing more can be sent on it. */
export class ClientClosedError extends Error {
  override name = "ClientClosedError";
  constructor() {
    super("the client is closed");
  }
}
