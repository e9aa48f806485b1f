import { z } from 'zod';

/**
 * Parameters an MDX-Net model needs besides its weights (spec §C): the sidecar JSON of a custom model
 * (`model.onnx` → `model.json`) and the catalog rows share this shape.
 * dim_t is the number of frames (256); UVR's log2 form (8) is recognised against the graph when the model opens.
 */
export const modelParamsSchema = z.object({
  n_fft: z.number().int().positive(),
  dim_f: z.number().int().positive(),
  dim_t: z.number().int().positive(),
  compensate: z.number().positive(),
  // the model's primary stem, as UVR names it ("Vocals", "Instrumental", …)
  stem: z.string().min(1),
});

export type ModelParams = z.infer<typeof modelParamsSchema>;

export const catalogEntrySchema = modelParamsSchema.extend({
  id: z.string().regex(/^[a-z0-9-]+$/),
  name: z.string(),
  file: z.string().regex(/^[\w.-]+\.onnx$/),
  url: z.url(),
  uvr_hash: z.string().regex(/^[0-9a-f]{32}$/),
  size: z.number().int().positive().nullable(),
  uvr_compensate: z.number().positive(),
});

export type CatalogEntry = z.infer<typeof catalogEntrySchema>;

export const catalogSchema = z.object({ models: z.array(catalogEntrySchema) });
