/**
 * Files from outside (a cloned repository's config file) are input, and files kbridge writes
 * go where the user meant: reads take regular files only, never blocking on a FIFO and never
 * larger than a cap; writes stay within a folder, never follow a symlink there, and land
 * whole (a temporary file created with its final mode, then renamed over the target).
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

export class UnsafeFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnsafeFileError";
  }
}

/**
 * The text of `file` if it is a regular file of at most `maxBytes` (a link to one is fine:
 * what counts is what is read). A FIFO, a device or a folder is refused without waiting.
 */
export function readRegularFile(file: string, maxBytes: number): string {
  // O_NONBLOCK: opening a FIFO with no writer returns at once instead of blocking the process.
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw new UnsafeFileError(`${file} is not a regular file (${kindOf(stat)})`);
    if (stat.size > maxBytes) throw new UnsafeFileError(`${file} is ${stat.size} bytes; kbridge reads at most ${maxBytes}`);
    const buffer = Buffer.alloc(maxBytes + 1);
    let length = 0;
    for (let read = -1; read !== 0 && length <= maxBytes; length += read) read = fs.readSync(fd, buffer, length, buffer.length - length, null);
    if (length > maxBytes) throw new UnsafeFileError(`${file} grew past ${maxBytes} bytes while it was read`);
    return buffer.subarray(0, length).toString("utf8");
  } finally {
    fs.closeSync(fd);
  }
}

function kindOf(stat: fs.Stats): string {
  if (stat.isDirectory()) return "a folder";
  if (stat.isFIFO()) return "a FIFO";
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return "a device";
  if (stat.isSocket()) return "a socket";
  return "not a file";
}

/** Whether `target` (absolute) is `root` or inside it, by path alone. */
export function isWithin(root: string, target: string): boolean {
  const relative = path.relative(path.resolve(root), path.resolve(target));
  return relative === "" || (!relative.startsWith("..") && !path.isAbsolute(relative));
}

/**
 * Creates `folder` (inside `root`) and its missing parents, mode 0700, refusing any existing
 * part below `root` that is a symlink or not a folder: what is written there stays inside.
 */
export function makeFolderWithin(root: string, folder: string): void {
  if (!isWithin(root, folder)) throw new UnsafeFileError(`${folder} is outside ${root}`);
  fs.mkdirSync(root, { recursive: true, mode: 0o700 });
  let at = path.resolve(root);
  for (const part of path.relative(at, path.resolve(folder)).split(path.sep).filter(Boolean)) {
    at = path.join(at, part);
    let stat: fs.Stats | undefined;
    try {
      stat = fs.lstatSync(at);
    } catch {
      fs.mkdirSync(at, { mode: 0o700 });
      continue;
    }
    if (stat.isSymbolicLink()) throw new UnsafeFileError(`${at} is a symbolic link; kbridge does not write through links`);
    if (!stat.isDirectory()) throw new UnsafeFileError(`${at} is not a folder`);
  }
}

/**
 * Writes `data` to `file` inside `root` with `mode` from its creation: a temporary file in
 * the same folder (exclusive, never following a link), then renamed over `file` — a link
 * there is replaced, not followed.
 */
export function writeFileWithin(root: string, file: string, data: string | Buffer, mode: number): void {
  const folder = path.dirname(path.resolve(file));
  makeFolderWithin(root, folder);
  writeFileAtomic(file, data, mode);
}

/** `data` into `file` whole, `mode` from creation, via a temporary file and a rename (a link at `file` is replaced). */
export function writeFileAtomic(file: string, data: string | Buffer, mode: number): void {
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString("hex")}.tmp`);
  const fd = fs.openSync(temporary, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, mode);
  try {
    fs.writeFileSync(fd, data);
    fs.fchmodSync(fd, mode); // the umask may have taken bits the caller asked for
    fs.fsyncSync(fd);
  } catch (error) {
    fs.closeSync(fd);
    fs.rmSync(temporary, { force: true });
    throw error;
  }
  fs.closeSync(fd);
  try {
    fs.renameSync(temporary, file);
  } catch (error) {
    fs.rmSync(temporary, { force: true });
    throw error;
  }
}
