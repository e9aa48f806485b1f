import type { StembotErrorCode } from '../errors.js';
import type { ExtractOptions } from './extract.js';
import type { MdxGeometry } from './geometry.js';
import type { DeviceChoice } from './onnxModel.js';

/** Messages between the process and the inference thread that owns the ONNX sessions. */
export interface InferenceThreadConfig {
  readonly device: DeviceChoice;
  readonly threads: number;
}

export type ExtractRequestOptions = Omit<ExtractOptions, 'onModelRun'>;

export type ThreadRequest =
  | { readonly kind: 'load'; readonly id: number; readonly modelPath: string; readonly geometry: MdxGeometry }
  | {
      readonly kind: 'extract';
      readonly id: number;
      readonly modelPath: string;
      readonly left: Float32Array;
      readonly right: Float32Array;
      readonly options: ExtractRequestOptions;
    }
  | { readonly kind: 'release'; readonly id: number; readonly modelPath: string };

export interface ExtractStats {
  /** model runs made (batch 1 each) */
  readonly modelRuns: number;
  /** wall seconds of the whole extract */
  readonly seconds: number;
  /** of which inside onnxruntime */
  readonly modelSeconds: number;
}

export interface LoadedModelInfo {
  readonly geometry: MdxGeometry;
  readonly provider: 'cuda' | 'cpu';
  readonly seconds: number;
}

export type ThreadReply =
  | ({ readonly kind: 'loaded'; readonly id: number } & LoadedModelInfo)
  | { readonly kind: 'progress'; readonly id: number; readonly done: number; readonly total: number }
  | {
      readonly kind: 'extracted';
      readonly id: number;
      readonly left: Float32Array;
      readonly right: Float32Array;
      readonly stats: ExtractStats;
    }
  | { readonly kind: 'released'; readonly id: number }
  | {
      readonly kind: 'failed';
      readonly id: number;
      readonly code?: StembotErrorCode;
      readonly message: string;
    };
