// weft image import|ls|rm (plus the `images`, `import` and `rmi` shortcuts).
import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import type { Command } from 'commander';
import { clientFor, CliError, collect, err, out, parseFilters, requireArgs, sub } from '../cli-util.js';
import { goLocalTime, humanDuration, humanSize, truncateId } from '../humanize.js';
import { renderRows } from '../table.js';
import { registerInspect } from './inspect.js';

interface ImageSummary {
  Id: string;
  RepoTags: string[] | null;
  RepoDigests: string[] | null;
  Created: number;
  Size: number;
}

export const IMAGE_HEADERS: Record<string, string> = {
  Repository: 'REPOSITORY',
  Tag: 'TAG',
  Digest: 'DIGEST',
  ID: 'IMAGE ID',
  CreatedSince: 'CREATED',
  CreatedAt: 'CREATED AT',
  Size: 'SIZE',
  Containers: 'CONTAINERS',
};

/** Splits REPO[:TAG] at the last colon that follows the last slash. */
export function splitRepoTag(ref: string): [string, string] {
  const i = ref.lastIndexOf(':');
  if (i > ref.lastIndexOf('/')) return [ref.slice(0, i), ref.slice(i + 1)];
  return [ref, ''];
}

export function imageRows(images: ImageSummary[], trunc: boolean, now = Date.now()): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  for (const img of images) {
    const tags = (img.RepoTags ?? []).filter((t) => t !== '<none>:<none>');
    const common = {
      ID: trunc ? truncateId(img.Id) : img.Id,
      Digest: '<none>',
      CreatedSince: `${humanDuration(now - img.Created * 1000)} ago`,
      CreatedAt: goLocalTime(img.Created),
      Size: humanSize(img.Size),
      Containers: 'N/A',
      SharedSize: 'N/A',
      UniqueSize: 'N/A',
      VirtualSize: humanSize(img.Size, 4),
    };
    if (tags.length === 0) rows.push({ Repository: '<none>', Tag: '<none>', ...common });
    for (const t of tags) {
      const [repo, tag] = splitRepoTag(t);
      rows.push({ Repository: repo, Tag: tag || '<none>', ...common });
    }
  }
  return rows;
}

function lsAction(c: Command, name: string): Command {
  return sub(c, name, '[OPTIONS] [REPOSITORY[:TAG]]', 'List images')
    .argument('[args...]')
    .option('-a, --all', 'Show all images (default hides intermediate images)')
    .option('-f, --filter <filter>', 'Filter output based on conditions provided', collect, [])
    .option('--format <format>', 'Format output using a custom template')
    .option('--no-trunc', "Don't truncate output")
    .option('-q, --quiet', 'Only show image IDs')
    .action(async (args: string[], o, cmd: Command) => {
      requireArgs(cmd, args, 0, 1);
      const filters = [...o.filter, ...(args[0] ? [`reference=${args[0]}`] : [])];
      const images = await clientFor(cmd).get<ImageSummary[]>('/images/json', { all: o.all ? 1 : undefined, filters: parseFilters(filters) });
      let format: string = o.format ?? 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}';
      if (o.format === 'json') format = '{{json .}}';
      let rows = imageRows(images, o.trunc !== false);
      if (o.quiet) {
        format = '{{.ID}}';
        rows = rows.filter((r, i) => rows.findIndex((x) => x.ID === r.ID) === i);
      }
      out(renderRows({ format, headers: IMAGE_HEADERS, typeName: '*formatter.imageContext' }, rows));
    });
}

function importAction(c: Command, name: string): Command {
  return sub(c, name, '[OPTIONS] file|URL|- [REPOSITORY[:TAG]]', 'Import the contents from a tarball to create a filesystem image')
    .argument('[args...]')
    .option('-c, --change <instruction>', 'Apply Dockerfile instruction to the created image', collect, [])
    .option('-m, --message <message>', 'Set commit message for imported image')
    .option('--platform <platform>', 'Set platform if server is multi-platform capable')
    .action(async (args: string[], o, cmd: Command) => {
      requireArgs(cmd, args, 1, 2);
      const [source, ref] = args;
      const [repo, tag] = ref ? splitRepoTag(ref) : ['', ''];
      if (source !== '-') await access(source);
      const body = source === '-' ? process.stdin : createReadStream(source);
      const res = await clientFor(cmd).stream('POST', '/images/create', {
        query: { fromSrc: '-', changes: o.change as string[], repo: repo || undefined, tag: tag || undefined, message: o.message, platform: o.platform },
        body,
      });
      let text = '';
      for await (const chunk of res) text += (chunk as Buffer).toString();
      for (const line of text.split(/\r?\n/).filter(Boolean)) {
        const m = JSON.parse(line) as { status?: string; error?: string; errorDetail?: { message?: string } };
        if (m.error) throw new CliError(m.errorDetail?.message ?? m.error, 1);
        if (m.status) out(`${m.status}\n`);
      }
    });
}

function rmAction(c: Command, name: string): Command {
  return sub(c, name, '[OPTIONS] IMAGE [IMAGE...]', 'Remove one or more images')
    .argument('[args...]')
    .option('-f, --force', 'Force removal of the image')
    .option('--no-prune', 'Do not delete untagged parents')
    .action(async (args: string[], o, cmd: Command) => {
      requireArgs(cmd, args, 1, Infinity);
      const client = clientFor(cmd);
      let failed = false;
      for (const ref of args) {
        try {
          const res = await client.json<{ Untagged?: string; Deleted?: string }[]>('DELETE', `/images/${encodeURIComponent(ref)}`, {
            query: { force: o.force ? 1 : undefined, noprune: o.prune === false ? 1 : undefined },
          });
          for (const r of res ?? []) out(r.Untagged ? `Untagged: ${r.Untagged}\n` : `Deleted: ${r.Deleted}\n`);
        } catch (e) {
          if (!(e instanceof Error) || !e.message.startsWith('Error response')) throw e;
          err(`${e.message}\n`);
          failed = true;
        }
      }
      if (failed) throw new CliError('', 1);
    });
}

export function registerImage(program: Command): void {
  const image = sub(program, 'image', 'COMMAND', 'Manage images');
  lsAction(image, 'ls').alias('list');
  importAction(image, 'import');
  rmAction(image, 'rm').alias('remove');
  registerInspect(image, 'image');
  lsAction(program, 'images');
  importAction(program, 'import');
  rmAction(program, 'rmi');
}
