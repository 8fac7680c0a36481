/**
 * Just enough of the protobuf wire format to walk a message's top-level fields without
 * its .proto: varints, fixed 32/64-bit values and length-delimited fields.
 */
export interface WireField {
  number: number;
  wireType: number;
  /** Set for length-delimited fields (wire type 2). */
  bytes?: Uint8Array;
}

export class WireFormatError extends Error {
  override readonly name = "WireFormatError";
}

export function* readFields(buf: Uint8Array): Generator<WireField> {
  let pos = 0;
  const varint = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      const byte = buf[pos++];
      if (byte === undefined) throw new WireFormatError("truncated varint");
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7;
      if (shift > 63) throw new WireFormatError("varint too long");
    }
  };
  while (pos < buf.length) {
    const key = varint();
    const number = Math.floor(key / 8);
    const wireType = key & 7;
    if (number === 0) throw new WireFormatError("field number 0");
    switch (wireType) {
      case 0:
        varint();
        yield { number, wireType };
        break;
      case 1:
        pos += 8;
        yield { number, wireType };
        break;
      case 2: {
        const len = varint();
        if (pos + len > buf.length) throw new WireFormatError("truncated length-delimited field");
        yield { number, wireType, bytes: buf.subarray(pos, pos + len) };
        pos += len;
        break;
      }
      case 5:
        pos += 4;
        yield { number, wireType };
        break;
      default:
        throw new WireFormatError(`unsupported wire type ${wireType}`);
    }
    if (pos > buf.length) throw new WireFormatError("truncated fixed-width field");
  }
}

/** The first length-delimited field `number` of a message, decoded as UTF-8. */
export function readString(buf: Uint8Array, number: number): string | null {
  for (const field of readFields(buf)) {
    if (field.number === number && field.bytes) return new TextDecoder().decode(field.bytes);
  }
  return null;
}
