/**
 * Reading a request body as text within a byte limit, for callers that must not buffer what a
 * client streams without a declared length.
 *
 * @module
 */

/** The text read, or `undefined` when the stream passed `maxBytes` (the reader is left open). */
export async function readTextUpTo(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  maxBytes: number,
): Promise<string | undefined> {
  const decoder = new TextDecoder();
  let received = 0;
  let text = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return text + decoder.decode();
    received += value.byteLength;
    if (received > maxBytes) return undefined;
    text += decoder.decode(value, { stream: true });
  }
}
