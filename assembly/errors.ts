// The last error: a code from format.ts and a short ASCII message in a static
// buffer the host reads. No allocation, so it works in every host.

const MESSAGE_CAPACITY = 160;
const messageBuffer = memory.data(MESSAGE_CAPACITY);
let messageLength = 0;
let lastCode = 0;

// Messages arrive as NUL-terminated ASCII in static memory (the build's
// transform, assembly/ascii-errors.mjs, turns the literals into that), or as
// strings where a build runs without it (the kernel specs).
function append<T>(text: T): void {
  if (isString<T>()) {
    const s = changetype<string>(text);
    for (let i = 0; i < s.length && messageLength < MESSAGE_CAPACITY; i++) {
      store<u8>(messageBuffer + <usize>messageLength, <u8>s.charCodeAt(i));
      messageLength++;
    }
  } else {
    let at = changetype<usize>(text);
    while (load<u8>(at) != 0 && messageLength < MESSAGE_CAPACITY) {
      store<u8>(messageBuffer + <usize>messageLength, load<u8>(at));
      messageLength++;
      at++;
    }
  }
}

function appendInt(value: i64): void {
  if (value < 0) {
    append("-");
    value = -value;
  }
  const digits = memory.data(24);
  let n = 0;
  do {
    store<u8>(digits + <usize>n, <u8>(48 + <i32>(value % 10)));
    n++;
    value /= 10;
  } while (value > 0);
  while (n > 0 && messageLength < MESSAGE_CAPACITY) {
    n--;
    store<u8>(messageBuffer + <usize>messageLength, load<u8>(digits + <usize>n));
    messageLength++;
  }
}

// Records an error and returns its code, so callers can `return fail(...)`.
export function fail<T>(code: i32, text: T): i32 {
  lastCode = code;
  messageLength = 0;
  append(text);
  return code;
}

// Same, naming the op index and one offending number.
export function failAt<T>(code: i32, op: i32, text: T, value: i64): i32 {
  lastCode = code;
  messageLength = 0;
  append("op ");
  appendInt(op);
  append(": ");
  append(text);
  append(" (");
  appendInt(value);
  append(")");
  return code;
}

// Same, naming a shape: "text (rows x columns)".
export function failShape<T>(code: i32, text: T, rows: i64, columns: i64): i32 {
  lastCode = code;
  messageLength = 0;
  append(text);
  append(" (");
  appendInt(rows);
  append(" x ");
  appendInt(columns);
  append(")");
  return code;
}

export function clearError(): void {
  lastCode = 0;
  messageLength = 0;
}

export function errorCode(): i32 {
  return lastCode;
}

export function errorMessagePtr(): usize {
  return messageBuffer;
}

export function errorMessageLength(): i32 {
  return messageLength;
}
