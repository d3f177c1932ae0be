// Package wot is the protocol-neutral core of the wotgen runtime, in the shape of the W3C WoT
// Scripting API (https://www.w3.org/TR/wot-scripting-api/): a ConsumedThing performs every WoT
// operation on a Thing, choosing a usable form of its Thing Description for each one; a Thing
// (the Scripting API's ExposedThing) answers them with handlers or a validated value store,
// keeps a notification history and the asynchronous action instances; a Server serves Things
// and their Thing Descriptions on one http.Handler.
//
// The core knows no wire format. Protocol bindings translate between it and a protocol:
// runtime/wtp (the Web Thing Protocol over WebSocket) and runtime/wothttp (HTTP, per the WoT
// HTTP Binding Templates and the WoT HTTP Profiles). A binding package registers itself in its
// init function; import it for effect to make it available.
//
// # Adding a binding
//
// A new protocol (MQTT, CoAP, …) is a new package and nothing else: implement Binding (the
// consumer side: which forms it accepts, and a Client that performs a Request) and
// ServerBinding (the server side: the forms it adds to a served Thing Description, and the
// requests it serves, calling the Thing's operations), and call Register and RegisterServer
// from its init function.
package wot
