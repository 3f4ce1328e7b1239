// tcp-keepalive: real TCP keepalive control for Node sockets.
export { setKeepalive, getKeepalive } from './keepalive';
export type { KeepaliveState, PendingKeepalive } from './keepalive';
export type { KeepaliveOptions } from './validate';
export { supported } from './supported';
export type { Supported, SettingName, NumericSettingName, Range } from './supported';
export { detectAfter } from './detect';
export type { DetectOptions } from './detect';
export type { ErrorCode, KeepaliveError, KeepaliveSystemError } from './errors';
