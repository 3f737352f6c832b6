// ZooKeeper's numeric error codes (KeeperException.Code), identical in 3.8 and 3.9. Source:
// zookeeper-server/.../KeeperException.java; see ../shared/reference/zookeeper-facts.md A.5.

export const Err = {
  OK: 0,
  SYSTEMERROR: -1,
  RUNTIMEINCONSISTENCY: -2,
  DATAINCONSISTENCY: -3,
  CONNECTIONLOSS: -4,
  MARSHALLINGERROR: -5,
  UNIMPLEMENTED: -6,
  OPERATIONTIMEOUT: -7,
  BADARGUMENTS: -8,
  UNKNOWNSESSION: -12,
  NEWCONFIGNOQUORUM: -13,
  RECONFIGINPROGRESS: -14,
  APIERROR: -100,
  NONODE: -101,
  NOAUTH: -102,
  BADVERSION: -103,
  NOCHILDRENFOREPHEMERALS: -108,
  NODEEXISTS: -110,
  NOTEMPTY: -111,
  SESSIONEXPIRED: -112,
  INVALIDCALLBACK: -113,
  INVALIDACL: -114,
  AUTHFAILED: -115,
  SESSIONMOVED: -118,
  NOTREADONLY: -119,
  EPHEMERALONLOCALSESSION: -120,
  NOWATCHER: -121,
  REQUESTTIMEOUT: -122,
  RECONFIGDISABLED: -123,
  SESSIONCLOSEDREQUIRESASLAUTH: -124,
  QUOTAEXCEEDED: -125,
  THROTTLEDOP: -127,
} as const;

export type ErrName = keyof typeof Err;
export type ErrCode = (typeof Err)[ErrName];

const namesByCode = new Map<number, ErrName>(
  (Object.keys(Err) as ErrName[]).map((name) => [Err[name], name]),
);

/** The ZooKeeper name of an error code, e.g. -101 -> "NONODE"; unknown codes print as numbers. */
export function errName(code: number): string {
  return namesByCode.get(code) ?? `ERR(${code})`;
}
