/** A typed array's bytes as ONNX `raw_data`: a copy of exactly its own bytes. */
export function rawData(values: Float32Array | Int32Array | BigInt64Array | Int8Array): Uint8Array {
  // ONNX raw_data is little-endian, as are typed arrays on every platform Node and browsers run on.
  return new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
}
