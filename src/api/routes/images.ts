import { createGunzip } from 'node:zlib';
import { PassThrough, type Readable } from 'node:stream';
import type { Engine } from '../../engine/engine.js';
import { conflict, invalid, notFound } from '../../common/errors.js';
import { boolParam, type Router } from '../router.js';
import { Reply } from '../server.js';

// Images: weft has no registry; `docker import` (POST /images/create?fromSrc=-) adds a rootfs tarball.

export interface ImageChanges {
  Cmd?: string[];
  Entrypoint?: string[];
  Env?: string[];
  WorkingDir?: string;
  ExposedPorts?: Record<string, object>;
}

/** The Dockerfile instructions `docker import --change` accepts. */
export function parseChanges(changes: string[]): ImageChanges {
  const out: ImageChanges = {};
  for (const change of changes) {
    const m = /^\s*(\w+)\s+(.*)$/s.exec(change);
    if (!m) throw invalid(`dockerfile parse error: ${change}`);
    const [, instr, rest] = m;
    const words = () => (rest.trim().startsWith('[') ? (JSON.parse(rest) as string[]) : ['/bin/sh', '-c', rest.trim()]);
    switch (instr.toUpperCase()) {
      case 'CMD':
        out.Cmd = words();
        break;
      case 'ENTRYPOINT':
        out.Entrypoint = words();
        break;
      case 'ENV': {
        const kv = rest.includes('=') ? rest.trim() : rest.trim().replace(/\s+/, '=');
        out.Env = [...(out.Env ?? []), kv];
        break;
      }
      case 'WORKDIR':
        out.WorkingDir = rest.trim();
        break;
      case 'EXPOSE':
        out.ExposedPorts = { ...(out.ExposedPorts ?? {}) };
        for (const p of rest.trim().split(/\s+/)) out.ExposedPorts[p.includes('/') ? p : `${p}/tcp`] = {};
        break;
      default:
        throw invalid(`${instr.toUpperCase()} is not a valid change command`);
    }
  }
  return out;
}

/** Un-gzips when the upload starts with gzip's magic bytes (docker import sends either). */
function maybeGunzip(input: Readable): Readable {
  const out = new PassThrough();
  input.once('data', (first: Buffer) => {
    input.pause();
    const gz = first[0] === 0x1f && first[1] === 0x8b;
    const target = gz ? createGunzip() : out;
    if (gz) target.pipe(out);
    target.write(first);
    input.pipe(target);
    input.resume();
  });
  input.once('end', () => out.end());
  return out;
}

export function imageRoutes(router: Router, engine: Engine): void {
  const { images } = engine;

  router.add('GET', '/images/json', () => images.list());

  router.add('POST', '/images/create', async (ctx, res) => {
    const q = ctx.query;
    const fromSrc = q.get('fromSrc');
    if (q.get('fromImage')) {
      const ref = `${q.get('fromImage')}:${q.get('tag') || 'latest'}`;
      throw notFound(`pull access denied for ${q.get('fromImage')}: weft has no image registry; add ${ref} with \`docker import\``);
    }
    if (fromSrc !== '-') throw invalid('weft imports images only from the request body (fromSrc=-)');
    const repo = q.get('repo');
    const tag = q.get('tag') || 'latest';
    const repoTag = repo ? (repo.includes(':') && !repo.includes('/') ? repo : `${repo}:${tag}`) : null;
    const changes = parseChanges(q.getAll('changes'));
    const id = await images.import(maybeGunzip(ctx.req), repoTag, changes);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ status: id }) + '\r\n');
  });

  router.add('GET', '/images/{name*}/json', (ctx) => images.inspect(images.resolve(ctx.params.name).Id));

  router.add('POST', '/images/{name*}/tag', (ctx) => {
    const id = images.resolve(ctx.params.name).Id;
    const repo = ctx.query.get('repo') ?? '';
    const tag = ctx.query.get('tag') || 'latest';
    if (!repo) throw invalid('invalid reference format: repository name must have at least one component');
    if (!/^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/.test(repo) || !/^[\w][\w.-]{0,127}$/.test(tag)) throw invalid('invalid reference format');
    images.tag(id, `${repo}:${tag}`);
    return new Reply(201);
  });

  router.add('GET', '/images/{name*}/history', (ctx) => {
    const img = images.inspect(images.resolve(ctx.params.name).Id);
    return [{ Comment: 'Imported from -', Created: Math.floor(Date.parse(String(img.Created)) / 1000), CreatedBy: '', Id: img.Id, Size: img.Size, Tags: img.RepoTags }];
  });

  router.add('POST', '/images/prune', () => {
    // Dangling: untagged (docker import without a name) and used by no container.
    const used = new Set(engine.registry.containers.all().map((c) => c.imageId));
    const deleted: Record<string, string>[] = [];
    let reclaimed = 0;
    for (const img of images.list()) {
      if ((img.RepoTags as string[]).length || used.has(img.Id as string)) continue;
      deleted.push(...images.remove(img.Id as string));
      reclaimed += img.Size as number;
    }
    return { ImagesDeleted: deleted.length ? deleted : null, SpaceReclaimed: reclaimed };
  });

  router.add('DELETE', '/images/{name*}', (ctx) => {
    const inUse = engine.registry.containers.all().some((c) => c.imageId === images.resolve(ctx.params.name).Id);
    const force = boolParam(ctx.query, 'force');
    if (inUse && !force) {
      const id = images.resolve(ctx.params.name).Id;
      throw conflict(`conflict: unable to remove repository reference "${ctx.params.name}" (must force) - container is using its referenced image ${id.replace('sha256:', '').slice(0, 12)}`);
    }
    return new Reply(200, images.remove(ctx.params.name, force));
  });
}
