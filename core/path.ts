// Path rules exactly as ZooKeeper's PathUtils.validatePath: absolute, no trailing slash, no empty
// segment, no "." or ".." segment, none of the forbidden characters.

/** Returns why `path` is not a valid znode path, or undefined when it is. */
export function pathProblem(path: string): string | undefined {
  if (path.length === 0) return "path length must be > 0";
  if (path.charCodeAt(0) !== 0x2f) return "path must start with / character";
  if (path.length === 1) return undefined;
  if (path.charCodeAt(path.length - 1) === 0x2f) return "path must not end with / character";
  let last = 0x2f;
  for (let i = 1; i < path.length; last = path.charCodeAt(i), i++) {
    const c = path.charCodeAt(i);
    const segmentStart = path.charCodeAt(i - 1) === 0x2f;
    const segmentEnd = i + 1 === path.length || path.charCodeAt(i + 1) === 0x2f;
    if (c === 0) return `null character not allowed @${i}`;
    if (c === 0x2f && last === 0x2f) return `empty node name specified @${i}`;
    if (c === 0x2e && last === 0x2e) {
      if (path.charCodeAt(i - 2) === 0x2f && segmentEnd) return `relative paths not allowed @${i}`;
    } else if (c === 0x2e) {
      if (segmentStart && segmentEnd) return `relative paths not allowed @${i}`;
    } else if (isForbiddenChar(c)) {
      return `invalid character @${i}`;
    }
  }
  return undefined;
}

function isForbiddenChar(c: number): boolean {
  return (
    (c > 0x0000 && c <= 0x001f) ||
    (c >= 0x007f && c <= 0x009f) ||
    (c >= 0xd800 && c <= 0xf8ff) ||
    (c >= 0xfff0 && c <= 0xffff)
  );
}

export const isValidPath = (path: string): boolean => pathProblem(path) === undefined;

/** Parent of a path as ZooKeeper cuts it (everything before the last slash), "/" for top level. */
export function parentPath(path: string): string {
  const lastSlash = path.lastIndexOf("/");
  return lastSlash <= 0 ? "/" : path.slice(0, lastSlash);
}

export function childName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

export const rootPath = "/";
export const procPath = "/zookeeper";
export const quotaPath = "/zookeeper/quota";
export const configPath = "/zookeeper/config";

/** The nodes ZooKeeper itself owns; they can never be deleted (DataTree.isSpecialPath). */
export const isSpecialPath = (path: string): boolean =>
  path === rootPath || path === procPath || path === quotaPath || path === configPath;
