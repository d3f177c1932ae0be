#!/usr/bin/env node
// A node-wot 0.9.2 HTTP consumer that runs a scripted plan against a Thing, the peer for wotgen's
// HTTP server.
//
// Usage: node consume.js TD_URL PLAN      (PLAN: a JSON object, or @FILE holding one)
//
// It prints one JSON object per step on stdout and nothing else:
//   {"step":"readproperty count","ok":true,"value":42,"ms":3}
//   {"step":"writeproperty count","ok":false,"error":"Server error: Internal Server Error","ms":5}
// The first step is always "requestThingDescription" and the last "done" (ok when every step was).
// Exit status: 0 all steps ok, 1 a step failed, 2 bad usage. The whole run is bounded by the plan's
// timeoutMs (default 25000, at most 30000), each step by its own timeoutMs (default 5000).
//
// Plan: {"timeoutMs":N, "stepTimeoutMs":N, "triggerIntervalMs":N, "steps":[STEP...]}
// STEP members (all steps: "id" names the step in the output, default "<op> <name>"; "timeoutMs";
// "expect": a value the result must deep-equal; "expectError": true when the operation must fail):
//   {"op":"readproperty","name":P}
//   {"op":"writeproperty","name":P,"value":V,"readBack":true}   readBack: read P and compare to V
//   {"op":"invokeaction","name":A,"input":V}                      omit input for actions without one
//   {"op":"readallproperties","names":[P...]}                     names: members the result must have
//   {"op":"readmultipleproperties","names":[P...]}
//   {"op":"writemultipleproperties","values":{P:V...}}
//   {"op":"observeproperty","name":P,"count":N,"trigger":TRIGGER}
//   {"op":"subscribeevent","name":E,"count":N,"trigger":TRIGGER}
// observeproperty/subscribeevent wait for count (default 1) notifications, invoking the trigger
// every triggerIntervalMs (default 300) until they arrive: node-wot answers the subscribe call after
// its HEAD handshake, before its first long-poll GET is on the server, so a single trigger can be
// lost. Then they stop the subscription and report it as a separate "unobserveproperty P" /
// "unsubscribeevent E" step. Their value is the array of notifications; expect compares the first.
// TRIGGER: {"op":"invokeaction","name":A,"input":V} or {"op":"writeproperty","name":P,"value":V}
// or {"op":"writeproperty","name":P,"values":[V1,V2,...]} (cycled, for Things that only notify on
// change). Without a trigger the step waits for the Thing to change on its own.
//
// Set DEBUG=node-wot* to get node-wot's logs on stderr.
"use strict";

// ajv warns on stderr about a format the TD schema uses; it is noise for every run.
const consoleWarn = console.warn;
console.warn = (...args) => {
    if (typeof args[0] === "string" && args[0].startsWith("unknown format")) return;
    consoleWarn(...args);
};

const { Servient } = require("@node-wot/core");
const { HttpClientFactory } = require("@node-wot/binding-http");
const { isDeepStrictEqual } = require("util");
const fs = require("fs");

const HARD_LIMIT_MS = 30000;

function usage(msg) {
    process.stderr.write(`consume.js: ${msg}\nusage: node consume.js TD_URL PLAN_JSON|@PLAN_FILE\n`);
    process.exit(2);
}

function emit(obj) {
    process.stdout.write(JSON.stringify(obj) + "\n");
}

function errText(err) {
    if (err instanceof Error) return err.message;
    if (typeof err === "string") return err;
    try {
        return JSON.stringify(err);
    } catch {
        return String(err);
    }
}

// JSON has no undefined: node-wot reports "no value" as undefined, the output says null.
function jsonable(v) {
    return v === undefined ? null : v;
}

function withTimeout(promise, ms, what) {
    let timer;
    const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function parseArgs() {
    const [url, planArg] = process.argv.slice(2);
    if (url === undefined || planArg === undefined) usage("need TD_URL and PLAN");
    if (!/^https?:\/\//.test(url)) usage(`TD_URL must be an http(s) URL, got ${JSON.stringify(url)}`);
    let text = planArg;
    if (planArg.startsWith("@")) {
        try {
            text = fs.readFileSync(planArg.slice(1), "utf8");
        } catch (err) {
            usage(`cannot read plan file: ${errText(err)}`);
        }
    }
    let plan;
    try {
        plan = JSON.parse(text);
    } catch (err) {
        usage(`plan is not JSON: ${errText(err)}`);
    }
    if (plan === null || typeof plan !== "object" || !Array.isArray(plan.steps)) {
        usage('plan must be an object with a "steps" array');
    }
    const known = [
        "readproperty",
        "writeproperty",
        "invokeaction",
        "readallproperties",
        "readmultipleproperties",
        "writemultipleproperties",
        "observeproperty",
        "subscribeevent",
    ];
    plan.steps.forEach((s, i) => {
        if (s === null || typeof s !== "object" || !known.includes(s.op)) {
            usage(`steps[${i}]: op must be one of ${known.join(", ")}`);
        }
        const named = !["readallproperties", "readmultipleproperties", "writemultipleproperties"].includes(s.op);
        if (named && typeof s.name !== "string") usage(`steps[${i}] (${s.op}): "name" must be a string`);
        if (s.op === "writeproperty" && !("value" in s)) usage(`steps[${i}] (writeproperty): "value" is missing`);
        if (s.trigger !== undefined && !["invokeaction", "writeproperty"].includes(s.trigger?.op)) {
            usage(`steps[${i}]: trigger.op must be invokeaction or writeproperty`);
        }
    });
    return { url, plan };
}

// Reads an InteractionOutput; node-wot validates the value against the affordance schema here.
async function valueOf(output, schema) {
    if (schema === undefined || schema === null) return undefined;
    return output.value();
}

function checkExpect(step, value) {
    if ("expect" in step && !isDeepStrictEqual(value, step.expect)) {
        throw new Error(`got ${JSON.stringify(jsonable(value))}, want ${JSON.stringify(step.expect)}`);
    }
}

async function runTrigger(thing, trigger, n) {
    if (trigger.op === "invokeaction") {
        const out = await thing.invokeAction(trigger.name, trigger.input);
        // Drain the body so node-fetch frees the connection.
        if (out !== undefined) await out.arrayBuffer().catch(() => undefined);
        return;
    }
    const value = Array.isArray(trigger.values) ? trigger.values[n % trigger.values.length] : trigger.value;
    await thing.writeProperty(trigger.name, value);
}

// Subscribes, triggers until `count` notifications arrived, then stops. Returns the notifications.
async function subscribe(thing, step, ctx) {
    const count = step.count ?? 1;
    const values = [];
    let stopped = false;
    let fail;
    let done;
    const finished = new Promise((resolve, reject) => {
        done = resolve;
        fail = reject;
    });
    // node-wot calls the error listener before the subscribe call rejects, when nothing awaits yet.
    finished.catch(() => undefined);
    const isEvent = step.op === "subscribeevent";
    const schema = isEvent ? thing.events[step.name]?.data : thing.properties[step.name];
    const listener = (output) => {
        if (stopped) return;
        valueOf(output, schema).then(
            (v) => {
                values.push(jsonable(v));
                if (values.length >= count) done();
            },
            (err) => fail(new Error(`notification ${values.length + 1}: ${errText(err)}`))
        );
    };
    const onError = (err) => {
        if (!stopped) fail(new Error(`subscription failed: ${errText(err)}`));
    };
    const sub = isEvent
        ? await thing.subscribeEvent(step.name, listener, onError)
        : await thing.observeProperty(step.name, listener, onError);
    ctx.subscription = sub;
    let timer;
    let n = 0;
    const fire = () => {
        if (values.length >= count || stopped) return;
        runTrigger(thing, step.trigger, n++).then(
            () => {
                if (!stopped) timer = setTimeout(fire, ctx.triggerIntervalMs);
            },
            (err) => fail(new Error(`trigger ${step.trigger.op} ${step.trigger.name}: ${errText(err)}`))
        );
    };
    if (step.trigger !== undefined) fire();
    try {
        await finished;
    } finally {
        stopped = true;
        clearTimeout(timer);
    }
    return values;
}

async function runStep(thing, step, ctx) {
    switch (step.op) {
        case "readproperty": {
            const out = await thing.readProperty(step.name);
            return valueOf(out, thing.properties[step.name]);
        }
        case "writeproperty": {
            await thing.writeProperty(step.name, step.value);
            if (!step.readBack) return undefined;
            const back = await valueOf(await thing.readProperty(step.name), thing.properties[step.name]);
            if (!("expect" in step) && !isDeepStrictEqual(back, step.value)) {
                throw new Error(`read back ${JSON.stringify(jsonable(back))} after writing ${JSON.stringify(step.value)}`);
            }
            return back;
        }
        case "invokeaction": {
            const action = thing.actions[step.name];
            const out = await thing.invokeAction(step.name, step.input);
            if (action?.output === undefined) {
                // Nothing declared: the body must be drained, and node-wot would only warn on value().
                await out.arrayBuffer();
                return undefined;
            }
            return out.value();
        }
        case "readallproperties":
        case "readmultipleproperties": {
            const outputs =
                step.op === "readallproperties"
                    ? await thing.readAllProperties()
                    : await thing.readMultipleProperties(step.names ?? []);
            const result = {};
            for (const [name, out] of outputs) {
                result[name] = jsonable(await valueOf(out, thing.properties[name]));
            }
            for (const name of step.names ?? []) {
                if (!(name in result)) throw new Error(`result has no ${name}: ${JSON.stringify(result)}`);
            }
            return result;
        }
        case "writemultipleproperties":
            await thing.writeMultipleProperties(new Map(Object.entries(step.values ?? {})));
            return undefined;
        case "observeproperty":
        case "subscribeevent":
            return subscribe(thing, step, ctx);
    }
    throw new Error(`unknown op ${step.op}`);
}

async function main() {
    const { url, plan } = parseArgs();
    const runMs = Math.min(plan.timeoutMs ?? 25000, HARD_LIMIT_MS);
    const stepMs = plan.stepTimeoutMs ?? 5000;
    const ctx = { triggerIntervalMs: plan.triggerIntervalMs ?? 300 };
    let current = "start";
    let allOk = true;

    // A hard stop, whatever node-wot is doing: the caller always gets a verdict in bounded time.
    setTimeout(() => {
        emit({ step: current, ok: false, error: `run deadline of ${runMs} ms exceeded` });
        emit({ step: "done", ok: false });
        process.exit(1);
    }, runMs);

    const servient = new Servient();
    servient.addClientFactory(new HttpClientFactory(null));
    const WoT = await servient.start();

    const record = async (id, timeoutMs, fn) => {
        current = id;
        const t0 = Date.now();
        try {
            const res = (await withTimeout(fn(), timeoutMs, id)) ?? {};
            emit({ step: id, ok: true, ...res, ms: Date.now() - t0 });
            return { ok: true };
        } catch (err) {
            allOk = false;
            emit({ step: id, ok: false, error: errText(err), ms: Date.now() - t0 });
            return { ok: false };
        }
    };

    // Validates the TD against the TD JSON Schema: the check a wotgen-served TD must pass.
    // Twice the step time: node-wot compiles the TD JSON Schema on first use.
    const td = await record("requestThingDescription", 2 * stepMs, async () => {
        ctx.td = await WoT.requestThingDescription(url);
    });
    if (!td.ok) return finish(false);
    const consumed = await record("consume", stepMs, async () => {
        ctx.thing = await WoT.consume(ctx.td);
    });
    if (!consumed.ok) return finish(false);
    const thing = ctx.thing;

    for (const step of plan.steps) {
        const id = step.id ?? (step.name !== undefined ? `${step.op} ${step.name}` : step.op);
        const subscribing = step.op === "observeproperty" || step.op === "subscribeevent";
        const timeoutMs = step.timeoutMs ?? (subscribing ? 2 * stepMs : stepMs);
        ctx.subscription = undefined;
        await record(id, timeoutMs, async () => {
            let value;
            try {
                value = await runStep(thing, step, ctx);
            } catch (err) {
                // ok, and the refusal node-wot saw goes in "error".
                if (step.expectError) return { error: errText(err) };
                throw err;
            }
            if (step.expectError) {
                throw new Error(`succeeded with ${JSON.stringify(jsonable(value))}, want an error`);
            }
            checkExpect(step, subscribing ? value[0] : value);
            return value === undefined ? {} : { value };
        });
        if (subscribing && ctx.subscription !== undefined) {
            const un = step.op === "observeproperty" ? "unobserveproperty" : "unsubscribeevent";
            const sub = ctx.subscription;
            await record(`${un} ${step.name}`, stepMs, () => sub.stop());
        }
    }
    return finish(allOk);

    function finish(ok) {
        emit({ step: "done", ok });
        // Open long-poll requests and keep-alive sockets would keep node alive.
        process.exit(ok ? 0 : 1);
    }
}

// A stray rejection inside node-wot must not kill the run: the step timeouts still bound it.
process.on("unhandledRejection", (err) => {
    process.stderr.write(`consume.js: unhandled rejection: ${err instanceof Error ? err.stack : errText(err)}\n`);
});

main().catch((err) => {
    emit({ step: "internal", ok: false, error: errText(err instanceof Error ? err.stack : err) });
    emit({ step: "done", ok: false });
    process.exit(1);
});
