#!/usr/bin/env node
// A node-wot 0.9.2 Thing served over HTTP on 127.0.0.1, the peer for wotgen's HTTP consumer.
//
// Usage: node thing.js [PORT]     (PORT 0 or absent: the kernel picks one)
//
// When the Thing is exposed it prints one JSON line on stdout:
//   {"td":"http://127.0.0.1:PORT/testthing","port":PORT}
// and nothing else on stdout. It exits when stdin closes (so a parent that dies cannot leak it),
// on SIGTERM and on SIGINT. node-wot's own logs go to stderr when DEBUG=node-wot* is set.
"use strict";

// ajv warns on stderr about a format the TD schema uses; it is noise for every run.
const consoleWarn = console.warn;
console.warn = (...args) => {
    if (typeof args[0] === "string" && args[0].startsWith("unknown format")) return;
    consoleWarn(...args);
};

const { Servient, Helpers } = require("@node-wot/core");
const { HttpServer } = require("@node-wot/binding-http");

function die(msg) {
    process.stderr.write(`thing.js: ${msg}\n`);
    process.exit(2);
}

const portArg = process.argv[2] ?? "0";
if (!/^\d+$/.test(portArg) || Number(portArg) > 65535) {
    die(`port must be an integer 0..65535, got ${JSON.stringify(portArg)}`);
}

// node-wot lets these override the configured port; the caller's choice must win.
delete process.env.WOT_PORT;
delete process.env.PORT;

// Forms carry absolute hrefs built from the host's addresses unless a static one is set.
Helpers.setStaticAddress("127.0.0.1");

// The TD init. Every affordance shape the interop tests need, see README.md.
const init = {
    title: "TestThing",
    id: "urn:wotgen:interop:testthing",
    description: "node-wot peer for wotgen interop tests",
    properties: {
        count: {
            type: "integer",
            minimum: 0,
            maximum: 100,
            observable: true,
            description: "read/write integer in 0..100; writes outside the range are refused",
        },
        label: { type: "string", observable: true },
        enabled: { type: "boolean", observable: true },
        config: {
            type: "object",
            properties: { name: { type: "string" }, count: { type: "integer" } },
            required: ["name", "count"],
            observable: true,
        },
        level: {
            type: "number",
            readOnly: true,
            observable: true,
            description: "goes up by 1.5 on each invocation of bump; set by setLevel",
        },
        secret: { type: "string", writeOnly: true, description: "write-only; lastSecretLength reports it" },
        lastSecretLength: { type: "integer", readOnly: true },
    },
    actions: {
        add: {
            description: "input and output",
            input: {
                type: "object",
                properties: { a: { type: "number" }, b: { type: "number" } },
                required: ["a", "b"],
            },
            output: { type: "number" },
        },
        bump: { description: "no input, output: the new level", output: { type: "number" } },
        setLevel: { description: "input, no output", input: { type: "number" } },
        fire: { description: "no input, no output: emits the alarm event" },
    },
    events: {
        alarm: {
            data: {
                type: "object",
                properties: { seq: { type: "integer" }, message: { type: "string" } },
                required: ["seq", "message"],
            },
        },
    },
};

const state = {
    count: 0,
    label: "hello",
    enabled: false,
    config: { name: "initial", count: 1 },
    level: 0,
    secret: "",
};
let alarmSeq = 0;

async function main() {
    const server = new HttpServer({ port: Number(portArg), address: "127.0.0.1" });
    const servient = new Servient();
    servient.addServer(server);
    const WoT = await servient.start();
    const thing = await WoT.produce(init);

    for (const name of ["count", "label", "enabled", "config"]) {
        thing.setPropertyReadHandler(name, async () => state[name]);
        thing.setPropertyWriteHandler(name, async (input) => {
            // value() checks the schema: an out-of-range count is refused here (node-wot answers 500).
            state[name] = await input.value();
            await thing.emitPropertyChange(name);
        });
    }
    thing.setPropertyReadHandler("level", async () => state.level);
    thing.setPropertyWriteHandler("secret", async (input) => {
        state.secret = await input.value();
    });
    thing.setPropertyReadHandler("lastSecretLength", async () => state.secret.length);

    thing.setActionHandler("add", async (input) => {
        const { a, b } = await input.value();
        return a + b;
    });
    thing.setActionHandler("bump", async () => {
        state.level += 1.5;
        await thing.emitPropertyChange("level");
        return state.level;
    });
    thing.setActionHandler("setLevel", async (input) => {
        state.level = await input.value();
        await thing.emitPropertyChange("level");
        return undefined;
    });
    thing.setActionHandler("fire", async () => {
        alarmSeq++;
        thing.emitEvent("alarm", { seq: alarmSeq, message: `alarm ${alarmSeq}` });
        return undefined;
    });

    await thing.expose();
    const port = server.getPort();
    const slug = [...server.getThings().keys()][0];
    process.stdout.write(JSON.stringify({ td: `http://127.0.0.1:${port}/${slug}`, port }) + "\n");
}

function shutdown() {
    process.exit(0);
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
process.stdin.on("end", shutdown);
process.stdin.on("close", shutdown);
process.stdin.on("error", shutdown);
process.stdin.resume();

main().catch((err) => die(`cannot start: ${err instanceof Error ? err.stack : err}`));
