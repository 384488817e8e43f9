// Serve a Fedify `Federation` over node:http on 127.0.0.1 (a free port): the one adapter the
// peer scripts share. Resolves to the server's origin, "http://127.0.0.1:PORT".
import http from "node:http";

// `onBody(text)`, if given, sees each POST body as it arrived (before Fedify parses it).
export async function serveFederation(federation, { onBody } = {}) {
  const server = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const body = chunks.length ? Buffer.concat(chunks) : undefined;
    if (onBody && req.method === "POST" && body) await onBody(body.toString("utf8"));
    const request = new Request(`http://${req.headers.host}${req.url}`, {
      method: req.method, headers: req.headers, body: req.method === "GET" || req.method === "HEAD" ? undefined : body,
    });
    const response = await federation.fetch(request, { contextData: undefined });
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(Buffer.from(await response.arrayBuffer()));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${server.address().port}`;
}
