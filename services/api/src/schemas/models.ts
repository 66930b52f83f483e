export const storedFileSchema = {
  type: 'object',
  properties: {
    name: { type: 'string', description: "Path inside the model's folder" },
    bytes: { type: 'integer' },
    sha256: { type: 'string' },
  },
  required: ['name', 'bytes', 'sha256'],
} as const;

export const modelStoredSchema = {
  type: 'object',
  description: 'The model is stored and loads',
  properties: {
    modelId: { type: 'string', format: 'uuid' },
    files: { type: 'array', items: storedFileSchema },
  },
  required: ['modelId', 'files'],
} as const;

/** The multipart form of a model upload (documentation only: parts are streamed, not validated as a body). */
export const modelUploadForm = {
  type: 'object',
  properties: {
    files: {
      type: 'array',
      items: { type: 'string', format: 'binary' },
      description:
        "Either model.json and its weight shards, one file part each (the parts' filenames become the file names), " +
        'or one .tar, .tar.gz, .tgz or .zip archive holding them at its top level or in one folder.',
    },
  },
} as const;

export const modelUploadBody = {
  content: { 'multipart/form-data': { schema: modelUploadForm } },
} as const;
