import type { FastifyRequest } from 'fastify';
import { badRequest, tooLarge } from '../http-error.js';
import { archiveKind, type EntrySink } from './archive.js';
import { ByteBudget, expandedLimitMessage, uploadLimitMessage } from './byte-budget.js';
import { safeEntryPath } from './entry-path.js';
import { extractTar } from './extract-tar.js';
import { extractZip } from './extract-zip.js';
import type { Staging } from './staging.js';

const ONE_OR_THE_OTHER =
  'send either one archive (.tar, .tar.gz, .tgz or .zip) or model.json and its weight shards as separate file parts, not both';

/**
 * Streams the file parts of a multipart request into the staging folder: plain files under their
 * part's filename, or the files of a single archive. Returns the form's text fields.
 */
export async function receiveParts(
  request: FastifyRequest,
  staging: Staging,
  maxBytes: number,
  allowedFields: string[],
): Promise<Record<string, string>> {
  const received = new ByteBudget(maxBytes, uploadLimitMessage);
  const expanded = new ByteBudget(maxBytes, expandedLimitMessage);
  const fields: Record<string, string> = {};
  let files = 0;
  let sawArchive = false;
  for await (const part of request.parts()) {
    if (part.type === 'field') {
      if (!allowedFields.includes(part.fieldname)) {
        const allowed = allowedFields.length ? `; allowed: ${allowedFields.join(', ')}` : '';
        throw badRequest(`unexpected form field "${part.fieldname}"${allowed}`);
      }
      if (part.valueTruncated) throw tooLarge(`form field "${part.fieldname}" is too long`);
      fields[part.fieldname] = String(part.value);
      continue;
    }
    files += 1;
    const kind = archiveKind(part.filename);
    if (sawArchive || (kind !== null && files > 1)) throw badRequest(ONE_OR_THE_OTHER);
    if (kind !== null) {
      sawArchive = true;
      const archive = await staging.saveArchive(part.file, received);
      const sink: EntrySink = (rel, data) => staging.addFile(rel, data, expanded);
      await (kind === 'tar' ? extractTar(archive, sink) : extractZip(archive, sink));
      continue;
    }
    if (!part.filename) throw badRequest(`file part "${part.fieldname}" has no filename`);
    const rel = safeEntryPath(part.filename);
    if (rel === null) {
      part.file.resume();
      continue;
    }
    await staging.addFile(rel, part.file, received);
  }
  if (files === 0) {
    throw badRequest(
      'no files in the upload: send model.json and its weight shards as file parts, or one .tar, .tar.gz, .tgz or .zip archive of them',
    );
  }
  return fields;
}
