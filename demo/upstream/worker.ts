/**
 * Demo upstream API ("Notes"), described by specs/demo/openapi.yaml.
 * State is per isolate and resets on restart: it is a demo, not a database.
 */
import { Hono } from "hono";

interface Note {
  id: string;
  title: string;
  body: string;
  tags: string[];
  createdAt: string;
}

const notes = new Map<string, Note>();
let nextId = 1;

function seed(): void {
  if (notes.size > 0) return;
  for (const [title, body, tags] of [
    ["Welcome", "This note comes from the demo upstream API.", ["demo"]],
    ["Gateway", "Every tool call became an HTTP request to this Worker.", ["demo", "mcp"]],
  ] as const) {
    const id = String(nextId++);
    notes.set(id, { id, title, body, tags: [...tags], createdAt: new Date(0).toISOString() });
  }
}

const app = new Hono();

app.use("*", async (_c, next) => {
  seed();
  await next();
});

app.get("/notes", (c) => {
  const tag = c.req.query("tag");
  const limit = Number(c.req.query("limit") ?? "20");
  const items = [...notes.values()].filter((n) => !tag || n.tags.includes(tag)).slice(0, limit);
  return c.json({ items, total: items.length });
});

app.post("/notes", async (c) => {
  const input = await c.req.json<Partial<Note>>().catch(() => null);
  if (!input || typeof input.title !== "string" || input.title.length === 0) {
    return c.json({ message: "title is required" }, 400);
  }
  const id = String(nextId++);
  const note: Note = {
    id,
    title: input.title,
    body: typeof input.body === "string" ? input.body : "",
    tags: Array.isArray(input.tags) ? input.tags.filter((t): t is string => typeof t === "string") : [],
    createdAt: new Date().toISOString(),
  };
  notes.set(id, note);
  return c.json(note, 201);
});

app.get("/notes/:id", (c) => {
  const note = notes.get(c.req.param("id"));
  return note ? c.json(note) : c.json({ message: `note ${c.req.param("id")} not found` }, 404);
});

app.delete("/notes/:id", (c) => {
  const existed = notes.delete(c.req.param("id"));
  return existed ? c.body(null, 204) : c.json({ message: `note ${c.req.param("id")} not found` }, 404);
});

app.get("/time", (c) => c.json({ now: new Date().toISOString(), timezone: c.req.query("tz") ?? "UTC" }));

app.notFound((c) => c.json({ message: "not found" }, 404));

export default app;
