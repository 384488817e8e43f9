// Independent HTTP signature implementations for the bridge's tests.
//
// Two ways to run it:
//   node sig-peers.mjs          a JSON array of tasks on stdin, a JSON array of results on stdout;
//   node sig-peers.mjs --serve  one JSON task per stdin line, one JSON result per stdout line, in
//                               order, until stdin closes: tests/fedi.py keeps one such process
//                               for a whole test session (a Node start costs ~0.3 s).
// Each task has an "op":
//   fedify-sign    {url, method, headers, body64, privateKeyPem, keyId, now, spec}  -> {headers}
//   fedify-verify  {url, method, headers, body64, keyId?, publicKeyPem, actorId?, now}
//                                                 -> {verified: true, keyId} | {verified: false, reason}
//   hms-cavage-sign   {url, method, headers, privateKeyPem, keyId, fields}           -> {headers}
//   hms-cavage-verify {url, method, headers, publicKeyPem}                           -> {verified}
// "fedify" is @fedify/fedify (sig/http.ts); "hms" is the npm http-message-signatures
// package's draft-cavage module, which signs the covered headers in the order given
// (Mastodon's order is `host date content-type digest (request-target)`), query included.
// `now` is milliseconds since the epoch: the tests inject the clock on both sides.

import { signRequest, verifyRequestDetailed } from "@fedify/fedify";
import { Temporal } from "@js-temporal/polyfill";
import hms from "http-message-signatures";
import { webcrypto } from "node:crypto";
import { createInterface } from "node:readline";

const { cavage, createSigner, createVerifier } = hms;

function pemBody(pem) {
  return Buffer.from(pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""), "base64");
}

async function importPrivate(pem) {
  return await webcrypto.subtle.importKey(
    "pkcs8", pemBody(pem), { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, true, ["sign"]);
}

function request(task) {
  const body = task.body64 == null ? null : Buffer.from(task.body64, "base64");
  return new Request(task.url, { method: task.method, headers: task.headers, body });
}

async function fedifySign(task) {
  const signed = await signRequest(request(task), await importPrivate(task.privateKeyPem), new URL(task.keyId), {
    spec: task.spec,
    currentTime: Temporal.Instant.fromEpochMilliseconds(task.now),
  });
  const headers = Object.fromEntries(signed.headers);
  // undici's Request may drop Host; Fedify signed it as the URL's host.
  headers.host ??= new URL(task.url).host;
  return { headers };
}

async function fedifyVerify(task) {
  // Without keyId the key document has no id, and Fedify takes it for whatever keyId the
  // request names: "this request must be signed by this key", as a test's peer means it.
  const keyDocument = {
    "@context": "https://w3id.org/security/v1",
    ...(task.keyId == null ? {} : { id: task.keyId }),
    type: "CryptographicKey",
    ...(task.actorId == null ? {} : { owner: task.actorId }),
    publicKeyPem: task.publicKeyPem,
  };
  const documentLoader = async (url) => ({ contextUrl: null, documentUrl: url, document: keyDocument });
  const result = await verifyRequestDetailed(request(task), {
    documentLoader,
    currentTime: Temporal.Instant.fromEpochMilliseconds(task.now),
  });
  return result.verified
    ? { verified: true, keyId: result.key.id?.href ?? null }
    : { verified: false, reason: result.reason.type };
}

async function hmsCavageSign(task) {
  const key = { id: task.keyId, alg: "rsa-v1_5-sha256", sign: createSigner(task.privateKeyPem, "rsa-v1_5-sha256").sign };
  const signed = await cavage.signMessage(
    { key, fields: task.fields, params: ["keyid", "alg"] },
    { method: task.method, url: task.url, headers: task.headers },
  );
  return { headers: signed.headers };
}

async function hmsCavageVerify(task) {
  const verify = createVerifier(task.publicKeyPem, "rsa-v1_5-sha256");
  const keyLookup = async () => ({ algs: ["rsa-v1_5-sha256"], verify });
  const verified = await cavage.verifyMessage(
    { keyLookup },
    { method: task.method, url: task.url, headers: task.headers },
  );
  return { verified: verified === true };
}

const ops = {
  "fedify-sign": fedifySign,
  "fedify-verify": fedifyVerify,
  "hms-cavage-sign": hmsCavageSign,
  "hms-cavage-verify": hmsCavageVerify,
};

async function run(task) {
  try {
    const op = ops[task?.op];
    if (op == null) throw new Error(`unknown op ${JSON.stringify(task?.op)}`);
    return await op(task);
  } catch (error) {
    return { error: String(error?.stack ?? error) };
  }
}

if (process.argv.includes("--serve")) {
  // One line in, one line out, strictly in turn: the caller waits for each answer.
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.trim() === "") continue;
    let task;
    try {
      task = JSON.parse(line);
    } catch (error) {
      process.stdout.write(JSON.stringify({ error: `not JSON: ${error}` }) + "\n");
      continue;
    }
    process.stdout.write(JSON.stringify(await run(task)) + "\n");
  }
} else {
  let input = "";
  for await (const chunk of process.stdin) input += chunk;
  const results = [];
  for (const task of JSON.parse(input)) results.push(await run(task));
  process.stdout.write(JSON.stringify(results));
}
