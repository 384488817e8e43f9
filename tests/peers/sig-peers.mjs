// Independent HTTP signature and Object Integrity Proof implementations for the bridge's tests.
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
//   fedify-send-signed   {activity, keyId}             -> {body, publicKeyMultibase}
//                        Fedify's own outbox (Context.sendActivity, immediate) with an Ed25519 key pair
//                        it generates: it adds an Object Integrity Proof (FEP-8b32, eddsa-jcs-2022) and
//                        POSTs to an inbox this process serves on 127.0.0.1; `body` is what arrived there.
//   fedify-verify-proofs {document, keyDocuments}      -> {object, proofs}
//                        `object`: verifyObject, the check Fedify's inbox runs (every proof valid, every
//                        actor and attributedTo the controller of a proof's key): true, false, or
//                        "threw: …"; `proofs`: verifyProof of each raw `proof` entry, which reads no
//                        JSON-LD. Keys (Multikey documents) are served from `keyDocuments` by id.
//   fedify-multikey      {publicKeyMultibase}          -> {x}  importMultibaseKey, then JWK `x` (raw key, base64url)
// "fedify" is @fedify/fedify (sig/http.ts); "hms" is the npm http-message-signatures
// package's draft-cavage module, which signs the covered headers in the order given
// (Mastodon's order is `host date content-type digest (request-target)`), query included.
// `now` is milliseconds since the epoch: the tests inject the clock on both sides.
// Nothing here reaches the internet: JSON-LD contexts come only from Fedify's preloaded set.

import {
  createFederation, exportJwk, generateCryptoKeyPair, MemoryKvStore, signRequest, verifyObject, verifyProof,
  verifyRequestDetailed,
} from "@fedify/fedify";
import { decodeMultibase, exportMultibaseKey, importMultibaseKey, preloadedContexts } from "@fedify/fedify/runtime";
import { Activity, DataIntegrityProof, Object as ASObject } from "@fedify/fedify/vocab";
import { Temporal } from "@js-temporal/polyfill";
import hms from "http-message-signatures";
import { webcrypto } from "node:crypto";
import { createServer } from "node:http";
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

// -- Object Integrity Proofs ----------------------------------------------------------------

// Offline JSON-LD: the contexts Fedify preloads, and `documents` by URL; anything else throws.
function offlineLoader(documents = {}) {
  return async (url) => {
    const document = documents[url] ?? preloadedContexts[url];
    if (document == null) throw new Error(`offline: no document for ${url}`);
    return { contextUrl: null, documentUrl: url, document };
  };
}

async function fedifySendSigned(task) {
  const bodies = [];
  const inbox = createServer((req, res) => {
    const chunks = [];
    req.on("data", (chunk) => chunks.push(chunk));
    req.on("end", () => {
      bodies.push(Buffer.concat(chunks).toString("utf8"));
      res.writeHead(202).end();
    });
  });
  await new Promise((resolve) => inbox.listen(0, "127.0.0.1", resolve));
  try {
    const port = inbox.address().port;
    const loader = offlineLoader();
    const federation = createFederation({
      kv: new MemoryKvStore(), documentLoaderFactory: () => loader, contextLoaderFactory: () => loader,
    });
    const ctx = federation.createContext(new URL(`http://127.0.0.1:${port}/`), undefined);
    const { privateKey, publicKey } = await generateCryptoKeyPair("Ed25519");
    const activity = await Activity.fromJsonLd(task.activity, { documentLoader: loader, contextLoader: loader });
    const recipient = { id: new URL(`http://127.0.0.1:${port}/users/peer`), inboxId: new URL(`http://127.0.0.1:${port}/inbox`) };
    await ctx.sendActivity([{ keyId: new URL(task.keyId), privateKey }], recipient, activity, { immediate: true });
    if (bodies.length !== 1) throw new Error(`the inbox received ${bodies.length} requests`);
    return { body: bodies[0], publicKeyMultibase: await exportMultibaseKey(publicKey) };
  } finally {
    inbox.close();
  }
}

async function fedifyVerifyProofs(task) {
  // A Multikey embedded in an actor has no @context of its own; served alone it needs one.
  const keys = Object.fromEntries(task.keyDocuments.map((key) => [
    key.id, { "@context": "https://w3id.org/security/multikey/v1", ...key },
  ]));
  const loader = offlineLoader(keys);
  const options = { documentLoader: loader, contextLoader: loader };
  let object;
  try {
    object = (await verifyObject(ASObject, task.document, options)) != null;
  } catch (error) {
    object = `threw: ${error}`;
  }
  const entries = task.document.proof == null ? [] : [task.document.proof].flat();
  const proofs = [];
  for (const entry of entries) {
    try {
      const proof = new DataIntegrityProof({
        cryptosuite: entry.cryptosuite,
        verificationMethod: new URL(entry.verificationMethod),
        proofPurpose: entry.proofPurpose,
        proofValue: decodeMultibase(entry.proofValue),
        created: Temporal.Instant.from(entry.created),
      });
      proofs.push((await verifyProof(task.document, proof, options)) != null);
    } catch (error) {
      proofs.push(`threw: ${error}`);
    }
  }
  return { object, proofs };
}

async function fedifyMultikey(task) {
  const key = await importMultibaseKey(task.publicKeyMultibase);
  return { x: (await exportJwk(key)).x };
}

const ops = {
  "fedify-sign": fedifySign,
  "fedify-verify": fedifyVerify,
  "hms-cavage-sign": hmsCavageSign,
  "hms-cavage-verify": hmsCavageVerify,
  "fedify-send-signed": fedifySendSigned,
  "fedify-verify-proofs": fedifyVerifyProofs,
  "fedify-multikey": fedifyMultikey,
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
