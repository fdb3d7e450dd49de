// MCP tools, one per operation, derived from the operation table: name,
// title, description, inputSchema and outputSchema (JSON Schema from the
// operation's own schemas) and annotations. Nothing here is declared twice.
//
// outputSchema must describe an object (MCP's rule). An operation whose output
// is not a plain object (`message.next` answers a message or null) is
// published as `{ result: <output> }`, and its structuredContent is wrapped
// the same way.
import type { Principal } from '../auth/principal.js';
import { hasScope } from '../auth/scopes.js';
import type { AnyOperation } from '../operations/operation.js';
import { toJsonSchema } from '../operations/schema.js';
import { aliasNote } from './tinytown-aliases.js';

export interface ToolDescriptor {
  name: string;
  title: string;
  description: string;
  inputSchema: Record<string, unknown>;
  outputSchema: Record<string, unknown>;
  annotations: {
    title: string;
    readOnlyHint: boolean;
    destructiveHint: boolean;
    idempotentHint: boolean;
    openWorldHint: boolean;
  };
}

export interface McpTool {
  readonly op: AnyOperation;
  readonly descriptor: ToolDescriptor;
  /** structuredContent is `{ result: output }` rather than the output itself. */
  readonly wrapsOutput: boolean;
}

export interface ToolCallResult {
  content: Array<{ type: 'text'; text: string }>;
  structuredContent: Record<string, unknown>;
}

function inputSchemaOf(op: AnyOperation): Record<string, unknown> {
  const schema = toJsonSchema(op.input);
  const props = schema['properties'] as Record<string, Record<string, unknown>>;
  for (const [field, sub] of Object.entries(props)) {
    const note = aliasNote(op.name, field);
    if (note !== undefined) props[field] = { ...sub, description: `${typeof sub['description'] === 'string' ? `${sub['description']} ` : ''}${note}` };
  }
  return schema;
}

function describe(op: AnyOperation): string {
  const scope = op.scope === 'public' ? 'No scope needed.' : `Requires the "${op.scope}" scope.`;
  return [op.summary.endsWith('.') ? op.summary : `${op.summary}.`, op.description, scope].filter((s) => s !== undefined).join(' ');
}

export function toolOf(op: AnyOperation): McpTool {
  const wrapsOutput = op.output.type !== 'object' || op.output.nullable === true;
  const output = toJsonSchema(op.output);
  return {
    op,
    wrapsOutput,
    descriptor: {
      name: op.name,
      title: op.summary,
      description: describe(op),
      inputSchema: inputSchemaOf(op),
      outputSchema: wrapsOutput ? { type: 'object', properties: { result: output }, required: ['result'], additionalProperties: false } : output,
      annotations: {
        title: op.summary,
        readOnlyHint: !op.mutates,
        destructiveHint: op.destructive === true,
        idempotentHint: !op.mutates || op.repeatable === true,
        openWorldHint: false,
      },
    },
  };
}

export interface ToolCatalog {
  get(name: string): McpTool | undefined;
  /** The tools this principal may call, in table order. */
  visibleTo(principal: Principal): ToolDescriptor[];
}

export function createToolCatalog(ops: readonly AnyOperation[]): ToolCatalog {
  const tools = new Map(ops.map((op) => [op.name, toolOf(op)]));
  return {
    get: (name) => tools.get(name),
    visibleTo: (principal) => [...tools.values()].filter((t) => t.op.scope === 'public' || hasScope(principal.scopes, t.op.scope)).map((t) => t.descriptor),
  };
}

/** A successful call: structured content, and the same JSON as text for clients that read only text. */
export function toolResult(tool: McpTool, output: unknown): ToolCallResult {
  const structured = tool.wrapsOutput ? { result: output ?? null } : (output as Record<string, unknown>);
  return { content: [{ type: 'text', text: JSON.stringify(structured) }], structuredContent: structured };
}
