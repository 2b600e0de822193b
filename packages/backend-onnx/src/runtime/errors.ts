/** One-line errors out of ORT's long, multi-line messages. */

/** First meaningful line of an error, without ORT's boilerplate prefixes. */
export function firstLine(e: unknown): string {
  const msg = String((e as { message?: string } | null)?.message ?? e);
  const line = msg.split('\n').find((l) => l.trim() !== '') ?? msg;
  return line.trim();
}

/**
 * ORT's messages for bytes that are not an ONNX model (or are cut short) mention protobuf parsing,
 * model loading or a missing graph; anything else (a missing package, an unsupported op) is not the
 * file's fault and passes through unchanged.
 */
export function isModelParseError(e: unknown): boolean {
  const msg = String((e as { message?: string } | null)?.message ?? e);
  return /protobuf|parse|Load model|ModelProto|INVALID_PROTOBUF|No graph|Failed to load model|opset_import|ir_version|model_path|invalid wire type|index out of range/i.test(msg);
}

/** Wraps a session-creation failure caused by the model bytes as one clear line. */
export function invalidModelError(e: unknown): Error {
  // onnxruntime-web prefixes the native message with its own status wrapper.
  const line = firstLine(e).replace(/^Can't create a session\.\s*ERROR_CODE: \d+, ERROR_MESSAGE:\s*/, '');
  return new Error(`not a valid ONNX model: ${line}`);
}
