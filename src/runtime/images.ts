// Local image store: single-layer images kept as extracted rootfs dirs under <dataRoot>/images/<hex>/rootfs,
// metadata in SQLite. Ids are the sha256 of the imported tarball, Docker-style "sha256:<hex>".
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable, Transform } from 'node:stream';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Database } from 'better-sqlite3';
import { conflict, invalid, notFound } from '../common/errors.js';

const run = promisify(execFile);

export interface ImageConfig {
  Cmd?: string[] | null;
  Env?: string[] | null;
  Entrypoint?: string[] | null;
  WorkingDir?: string;
  ExposedPorts?: Record<string, object> | null;
  User?: string;
  Labels?: Record<string, string> | null;
}

/** What resolve() returns: enough for callers to pick Id and Config. */
export interface ImageRecord {
  Id: string;
  RepoTags: string[];
  Created: number;
  Size: number;
  Config: ImageConfig;
}

export interface ImageInspect {
  Id: string;
  RepoTags: string[];
  Config: ImageConfig & Record<string, unknown>;
  [key: string]: unknown;
}

interface ImageRow {
  id: string;
  created: number;
  size: number;
  config: string;
}

/** "alpine" -> "alpine:latest", "docker.io/library/alpine" -> "alpine:latest". */
export function normalizeRef(ref: string): string {
  let r = ref.replace(/^docker\.io\//, '').replace(/^library\//, '');
  const slash = r.lastIndexOf('/');
  if (!r.slice(slash + 1).includes(':') && !r.includes('@')) r += ':latest';
  return r;
}

export class ImageStore {
  constructor(
    private readonly db: Database,
    private readonly dataRoot: string,
  ) {
    db.exec(`CREATE TABLE IF NOT EXISTS images (id TEXT PRIMARY KEY, created INTEGER NOT NULL, size INTEGER NOT NULL, config TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS image_tags (tag TEXT PRIMARY KEY, image_id TEXT NOT NULL, tagged INTEGER NOT NULL);`);
    mkdirSync(join(dataRoot, 'images'), { recursive: true });
  }

  rootfs(id: string): string {
    return join(this.dataRoot, 'images', id.replace(/^sha256:/, ''), 'rootfs');
  }

  async import(tar: Readable, repoTag: string | null, config: ImageConfig = {}): Promise<string> {
    const tmp = join(this.dataRoot, 'images', `.import-${randomBytes(6).toString('hex')}`);
    mkdirSync(join(tmp, 'rootfs'), { recursive: true });
    try {
      const hash = createHash('sha256');
      let size = 0;
      const hasher = new Transform({
        transform(chunk: Buffer, _e, cb) {
          hash.update(chunk);
          size += chunk.length;
          cb(null, chunk);
        },
      });
      await pipeline(tar, hasher, createWriteStream(join(tmp, 'layer.tar')));
      if (size === 0) throw invalid('no tar data in request body');
      const id = `sha256:${hash.digest('hex')}`;
      if (!this.row(id)) {
        // GNU tar detects gzip/xz/bzip2 by itself when reading a file.
        await run('tar', ['-x', '--numeric-owner', '--same-permissions', '-f', join(tmp, 'layer.tar'), '-C', join(tmp, 'rootfs')]).catch(
          (err: Error & { stderr?: string }) => {
            throw invalid(`failed to extract image: ${(err.stderr ?? err.message).trim()}`);
          },
        );
        const du = await run('du', ['-sb', join(tmp, 'rootfs')]);
        const dir = join(this.dataRoot, 'images', id.slice(7));
        rmSync(dir, { recursive: true, force: true });
        mkdirSync(dir, { recursive: true });
        renameSync(join(tmp, 'rootfs'), join(dir, 'rootfs'));
        const cfg: ImageConfig = { Env: config.Env ?? null, Cmd: config.Cmd ?? null, Entrypoint: config.Entrypoint ?? null };
        if (config.WorkingDir) cfg.WorkingDir = config.WorkingDir;
        if (config.ExposedPorts) cfg.ExposedPorts = config.ExposedPorts;
        if (config.User) cfg.User = config.User;
        if (config.Labels) cfg.Labels = config.Labels;
        this.db
          .prepare('INSERT INTO images (id, created, size, config) VALUES (?, ?, ?, ?)')
          .run(id, Math.floor(Date.now() / 1000), Number(du.stdout.split(/\s/)[0]) || size, JSON.stringify(cfg));
      }
      if (repoTag) this.tag(id, repoTag);
      return id;
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }

  /** Points repoTag at the image, taking it away from any other image. */
  tag(id: string, repoTag: string): void {
    this.db.prepare('INSERT OR REPLACE INTO image_tags (tag, image_id, tagged) VALUES (?, ?, ?)').run(normalizeRef(repoTag), id, Date.now());
  }

  /** Imports every <name>.tar with a sibling <name>.json (image config) as <name>:latest, unless that tag exists. */
  async seed(dir: string): Promise<string[]> {
    const added: string[] = [];
    if (!existsSync(dir)) return added;
    for (const file of readdirSync(dir).sort()) {
      if (!file.endsWith('.tar')) continue;
      const name = file.slice(0, -4);
      const cfgPath = join(dir, `${name}.json`);
      if (!existsSync(cfgPath) || this.tagged(`${name}:latest`)) continue;
      const config = JSON.parse(readFileSync(cfgPath, 'utf8')) as ImageConfig;
      await this.import(createReadStream(join(dir, file)), `${name}:latest`, config);
      added.push(`${name}:latest`);
    }
    return added;
  }

  private row(id: string): ImageRow | undefined {
    return this.db.prepare('SELECT * FROM images WHERE id = ?').get(id) as ImageRow | undefined;
  }

  private tagged(tag: string): string | undefined {
    const r = this.db.prepare('SELECT image_id FROM image_tags WHERE tag = ?').get(normalizeRef(tag)) as { image_id: string } | undefined;
    return r?.image_id;
  }

  private tagsOf(id: string): string[] {
    return (this.db.prepare('SELECT tag FROM image_tags WHERE image_id = ? ORDER BY tag').all(id) as { tag: string }[]).map((r) => r.tag);
  }

  /** The image for a tag ("alpine", "alpine:latest"), full id, "sha256:" id or unique id prefix. */
  resolve(nameOrId: string): ImageRecord {
    const id = this.resolveId(nameOrId);
    const r = this.row(id)!;
    return { Id: id, RepoTags: this.tagsOf(id), Created: r.created, Size: r.size, Config: JSON.parse(r.config) as ImageConfig };
  }

  resolveId(nameOrId: string): string {
    const hex = nameOrId.replace(/^sha256:/, '');
    if (/^[0-9a-f]{64}$/.test(hex) && this.row(`sha256:${hex}`)) return `sha256:${hex}`;
    const byTag = this.tagged(nameOrId);
    if (byTag) return byTag;
    if (/^[0-9a-f]{1,63}$/.test(hex)) {
      const rows = this.db.prepare('SELECT id FROM images WHERE id LIKE ?').all(`sha256:${hex}%`) as { id: string }[];
      if (rows.length === 1) return rows[0].id;
      if (rows.length > 1) throw invalid(`multiple IDs found with provided prefix: ${hex}`);
    }
    const shown = /^[0-9a-f]+$/.test(nameOrId) || nameOrId.startsWith('sha256:') ? nameOrId : normalizeRef(nameOrId);
    throw notFound(`No such image: ${shown}`);
  }

  config(id: string): ImageConfig {
    const r = this.row(id);
    if (!r) throw notFound(`No such image: ${id}`);
    return JSON.parse(r.config) as ImageConfig;
  }

  list(): Record<string, unknown>[] {
    const rows = this.db.prepare('SELECT * FROM images ORDER BY created DESC, id').all() as ImageRow[];
    return rows.map((r) => ({
      Id: r.id,
      ParentId: '',
      RepoTags: this.tagsOf(r.id),
      RepoDigests: [],
      Created: r.created,
      Size: r.size,
      SharedSize: -1,
      VirtualSize: r.size,
      Labels: (JSON.parse(r.config) as ImageConfig).Labels ?? {},
      Containers: -1,
    }));
  }

  inspect(nameOrId: string): ImageInspect {
    const id = this.resolveId(nameOrId);
    const r = this.row(id)!;
    const cfg = JSON.parse(r.config) as ImageConfig;
    return {
      Id: id,
      RepoTags: this.tagsOf(id),
      RepoDigests: [],
      Parent: '',
      Comment: 'Imported from tarball',
      Created: new Date(r.created * 1000).toISOString(),
      DockerVersion: '',
      Author: '',
      Config: {
        Hostname: '', Domainname: '', User: cfg.User ?? '', AttachStdin: false, AttachStdout: false, AttachStderr: false,
        ExposedPorts: cfg.ExposedPorts ?? null, Tty: false, OpenStdin: false, StdinOnce: false,
        Env: cfg.Env ?? null, Cmd: cfg.Cmd ?? null, Image: '', Volumes: null, WorkingDir: cfg.WorkingDir ?? '',
        Entrypoint: cfg.Entrypoint ?? null, OnBuild: null, Labels: cfg.Labels ?? null,
      },
      Architecture: process.arch === 'x64' ? 'amd64' : process.arch,
      Os: 'linux',
      Size: r.size,
      VirtualSize: r.size,
      GraphDriver: { Name: 'overlay2', Data: { UpperDir: this.rootfs(id) } },
      RootFS: { Type: 'layers', Layers: [id] },
      Metadata: { LastTagTime: '0001-01-01T00:00:00Z' },
    };
  }

  /** Docker's DELETE /images/{name}: untags a tag reference; deletes the image once no tag is left. */
  remove(nameOrId: string, force = false): Record<string, string>[] {
    const id = this.resolveId(nameOrId);
    const tags = this.tagsOf(id);
    const byTag = this.tagged(nameOrId) === id && !/^(sha256:)?[0-9a-f]+$/.test(nameOrId);
    const out: Record<string, string>[] = [];
    if (byTag) {
      const tag = normalizeRef(nameOrId);
      this.db.prepare('DELETE FROM image_tags WHERE tag = ?').run(tag);
      out.push({ Untagged: tag });
      if (tags.length > 1) return out;
    } else {
      if (tags.length > 1 && !force) {
        throw conflict(`conflict: unable to delete ${id.slice(7, 19)} (must be forced) - image is referenced in multiple repositories`);
      }
      for (const t of tags) out.push({ Untagged: t });
      this.db.prepare('DELETE FROM image_tags WHERE image_id = ?').run(id);
    }
    this.db.prepare('DELETE FROM images WHERE id = ?').run(id);
    rmSync(join(this.dataRoot, 'images', id.slice(7)), { recursive: true, force: true });
    out.push({ Deleted: id });
    return out;
  }
}
