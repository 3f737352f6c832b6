// The only globals core/ uses beyond the language itself: UTF-8 text codecs, pure functions that
// every JavaScript runtime has. Declared here so that core/ compiles without Node's or the DOM's
// types (tsconfig.core.json), where any other host API would fail to compile.

declare class TextEncoder {
  encode(input?: string): Uint8Array;
}

declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean });
  decode(input?: Uint8Array): string;
}
