#!/usr/bin/env node
// The official TypeScript MCP SDK against a running asstio-mcp: list the tools, call every one
// of them once with arguments derived from its input schema, print a JSON summary.
//
//   node ts_client.mjs URL TOKEN        exit 0 when every call succeeded, 1 otherwise, 2 on misuse
//
// Ids for required arguments come from the list tools themselves: productId from find_products
// (q "a"), customerId from list_customers, invoiceId from list_purchase_invoice_drafts; any other
// required *Id is taken from the first row of an earlier result that carries a field of that name.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const CONSTANTS = { q: "a" };
// Where a required id argument comes from: the tool that lists such rows and the row's field.
const ID_SOURCES = {
  productId: [["find_products", "productId"]],
  customerId: [["list_customers", "id"]],
  invoiceId: ["invoiceId", "draftId", "id"].map((field) => ["list_purchase_invoice_drafts", field]),
};

function rowsOf(structured) {
  if (!structured || typeof structured !== "object") return [];
  for (const key of ["items", "result"]) {
    if (Array.isArray(structured[key])) return structured[key];
  }
  return [structured];
}

class Planner {
  constructor(tools) {
    this.tools = tools;
    this.rows = new Map(); // tool name -> rows of its result
  }

  harvest(tool, structured) {
    this.rows.set(tool, rowsOf(structured).filter((row) => row && typeof row === "object"));
  }

  lookup(name) {
    if (name in CONSTANTS) return CONSTANTS[name];
    for (const [tool, field] of ID_SOURCES[name] ?? []) {
      const row = (this.rows.get(tool) ?? []).find((r) => r[field] != null);
      if (row) return row[field];
    }
    for (const rows of this.rows.values()) {
      const row = rows.find((r) => r[name] != null);
      if (row) return row[name];
    }
    return undefined;
  }

  fallback(schema) {
    const type = schema?.type ?? schema?.anyOf?.find((s) => s.type && s.type !== "null")?.type;
    return { integer: 1, number: 1, boolean: false, array: [] }[type] ?? "a";
  }

  // The arguments for `tool`, or null while a required id cannot be found yet.
  argumentsFor(tool, force = false) {
    const schema = tool.inputSchema ?? {};
    const args = {};
    for (const name of schema.required ?? []) {
      const value = this.lookup(name);
      if (value === undefined && !force) return null;
      args[name] = value === undefined ? this.fallback(schema.properties?.[name]) : value;
    }
    return args;
  }
}

async function main() {
  const [url, token] = process.argv.slice(2);
  if (!url || !token) {
    console.error("usage: node ts_client.mjs URL TOKEN");
    process.exit(2);
  }
  const client = new Client({ name: "asstio-e2e-ts", version: "1.0.0" });
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  await client.connect(transport);
  const summary = {
    server: client.getServerVersion(),
    protocolVersion: transport.protocolVersion ?? null,
    tools: [],
    calls: [],
    failures: 0,
  };
  try {
    // listTools compiles every outputSchema (ajv): a schema it cannot compile fails here.
    const { tools } = await client.listTools();
    summary.tools = tools.map((t) => t.name);
    const planner = new Planner(tools);
    let pending = [...tools];
    while (pending.length) {
      let ready = pending.filter((t) => planner.argumentsFor(t) !== null);
      // Nothing resolvable left: call the rest with type defaults so the failure is visible.
      const force = ready.length === 0;
      if (force) ready = pending;
      for (const tool of ready) {
        const args = planner.argumentsFor(tool, force);
        summary.calls.push(await callOne(client, tool, args, planner));
      }
      pending = pending.filter((t) => !ready.includes(t));
    }
  } catch (error) {
    summary.error = String(error?.message ?? error);
  } finally {
    await client.close();
  }
  summary.failures = summary.calls.filter((c) => !c.ok).length;
  if (summary.error || summary.tools.length === 0) summary.failures += 1;
  console.log(JSON.stringify(summary, null, 2));
  process.exit(summary.failures ? 1 : 0);
}

async function callOne(client, tool, args, planner) {
  const call = { tool: tool.name, arguments: args, ok: false };
  try {
    // The SDK validates structuredContent against the tool's outputSchema itself.
    const result = await client.callTool({ name: tool.name, arguments: args });
    if (result.isError) {
      call.error = result.content?.map((c) => c.text).join(" ") || "isError";
    } else if (!result.structuredContent || typeof result.structuredContent !== "object") {
      call.error = "no structuredContent";
    } else if (!result.content?.some((c) => c.type === "text")) {
      call.error = "no text content block";
    } else {
      call.ok = true;
      call.rows = rowsOf(result.structuredContent).length;
      planner.harvest(tool.name, result.structuredContent);
    }
  } catch (error) {
    call.error = String(error?.message ?? error);
  }
  return call;
}

main().catch((error) => {
  console.error(error?.stack ?? String(error));
  process.exit(1);
});
