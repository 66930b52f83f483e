/**
 * The ONNX protobuf messages, generated at build time from Debian's onnx.proto by protobufjs's CLI
 * (scripts/generate-onnx-proto.mjs), with the small readers the importer and exporter share.
 */
import { onnx } from './generated/onnx.js';

export { onnx };

export const DataType = onnx.TensorProto.DataType;

/** The values of a FLOAT or INT64 tensor (raw_data or the typed field), as numbers. */
export function tensorValues(t: onnx.ITensorProto): Float32Array | number[] {
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : null;
  switch (t.dataType) {
    case DataType.FLOAT:
      if (raw) return new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
      return Float32Array.from(t.floatData ?? []);
    case DataType.INT64: {
      if (!raw) return (t.int64Data ?? []).map(Number);
      const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      return Array.from({ length: raw.byteLength / 8 }, (_, i) => Number(view.getBigInt64(8 * i, true)));
    }
    case DataType.INT32:
      if (raw)
        return Array.from(new Int32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)));
      return t.int32Data ?? [];
    default:
      throw new Error(
        `tensor ${t.name}: data type ${DataType[t.dataType ?? 0] ?? t.dataType} is not read by dfq`,
      );
  }
}

export function attribute(node: onnx.INodeProto, name: string): onnx.IAttributeProto | undefined {
  return node.attribute?.find((a) => a.name === name) ?? undefined;
}

export function intAttr(node: onnx.INodeProto, name: string, fallback: number): number {
  const a = attribute(node, name);
  return a?.i != null ? Number(a.i) : fallback;
}

export function intsAttr(node: onnx.INodeProto, name: string): number[] | undefined {
  const a = attribute(node, name);
  return a?.ints && a.ints.length > 0 ? a.ints.map(Number) : undefined;
}

export function floatAttr(node: onnx.INodeProto, name: string, fallback: number): number {
  const a = attribute(node, name);
  return a?.f != null ? a.f : fallback;
}

export function stringAttr(node: onnx.INodeProto, name: string, fallback: string): string {
  const a = attribute(node, name);
  return a?.s ? new TextDecoder().decode(a.s) : fallback;
}
