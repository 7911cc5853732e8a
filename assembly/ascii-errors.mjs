// An asc transform: every string literal passed to fail(), failAt() or failShape() (the
// error messages of assembly/errors.ts) becomes a NUL-terminated ASCII byte
// array in static memory, memory.data<u8>([...]), instead of a UTF-16 string
// object with a 20-byte header: half the bytes, in flash and in RAM.
import { Transform } from "assemblyscript/transform";
import assemblyscript from "assemblyscript";

const { Node } = assemblyscript;
const CALL = 9, IDENTIFIER = 6, LITERAL = 16, STRING = 2;
const ERROR_FUNCTIONS = new Set(["fail", "failAt", "failShape"]);

function isNode(x) {
  return x !== null && typeof x === "object" && typeof x.kind === "number" && x.range !== undefined;
}

function asciiBytes(node) {
  const range = node.range;
  const bytes = [];
  for (const ch of node.value) {
    const c = ch.codePointAt(0);
    if (c > 0x7e || c < 0x20) throw new Error(`${range.source.normalizedPath}: error message "${node.value}" is not printable ASCII`);
    bytes.push(c);
  }
  bytes.push(0);
  const u8 = Node.createNamedType(Node.createSimpleTypeName("u8", range), null, false, range);
  const data = Node.createPropertyAccessExpression(Node.createIdentifierExpression("memory", range), Node.createIdentifierExpression("data", range), range);
  return Node.createCallExpression(data, [u8], [Node.createArrayLiteralExpression(bytes.map((b) => Node.createIntegerLiteralExpression(globalThis.i64_new(b, 0), range)), range)], range);
}

function rewrite(node, seen) {
  if (seen.has(node)) return;
  seen.add(node);
  if (node.kind === CALL && node.expression.kind === IDENTIFIER && ERROR_FUNCTIONS.has(node.expression.text)) {
    node.args = node.args.map((a) => (a.kind === LITERAL && a.literalKind === STRING ? asciiBytes(a) : a));
  }
  for (const key of Object.keys(node)) {
    if (key === "range" || key === "parent") continue;
    const v = node[key];
    if (Array.isArray(v)) v.forEach((x) => isNode(x) && rewrite(x, seen));
    else if (isNode(v)) rewrite(v, seen);
  }
}

export default class AsciiErrors extends Transform {
  afterParse(parser) {
    const seen = new Set();
    for (const source of parser.sources) if (!source.normalizedPath.startsWith("~lib/")) rewrite(source, seen);
  }
}
