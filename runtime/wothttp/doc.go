// Package wothttp is the HTTP protocol binding of the wotgen runtime: the consumer side
// (Binding, a wot.Binding) and the server side, following the WoT HTTP Binding Templates
// (https://w3c.github.io/wot-binding-templates/bindings/protocols/http/), the HTTP Basic and
// HTTP SSE Profiles (https://w3c.github.io/wot-profile/), and what Eclipse Thingweb node-wot
// sends and accepts. Importing the package registers the binding with runtime/wot.
//
// # How operations map to HTTP
//
// Each operation goes to its form's href with the form's htv:methodName, or else the
// default method: GET for readproperty, readallproperties, readmultipleproperties,
// queryaction and queryallactions; PUT for writeproperty, writeallproperties and
// writemultipleproperties; POST for invokeaction; DELETE for cancelaction
// (https://www.w3.org/TR/wot-thing-description11/#http-binding-assertions and the HTTP Basic Profile,
// https://w3c.github.io/wot-profile/). The form's htv:headers are sent too. Bodies are JSON;
// where a form carries one affordance's value as text/plain, a string travels as its
// characters and a number or boolean as its literal (read as the affordance's schema says),
// and as image/*, audio/*, video/* or application/octet-stream, the bytes are the value's
// base64 string decoded (and an answer's bytes become one). Requests carry Content-Type and
// answers are asked for with Accept, from the form's contentType and response.contentType;
// an invokeaction without input has no body. Forms with other media types (CBOR,
// multipart) are left for another form or binding.
//
// A synchronous action answers 200 with its output or 204 without; an asynchronous one 201
// with Location (the ActionStatus URL, relative references resolved against the request)
// and an ActionStatus body ({"status", "output", "error", "href", "timeRequested",
// "timeEnded"}); queryaction is a GET of that URL, cancelaction a DELETE (204), and
// queryallactions answers {action: [status…]}.
//
// observeproperty, observeallproperties, subscribeevent and subscribeallevents use the
// form's subprotocol: "sse" is a GET for a text/event-stream whose "event:" names the
// affordance and whose "data:" is the JSON value, resumed with Last-Event-ID after a drop;
// "longpoll" (and a form without subprotocol) is a GET the Thing holds until there is a
// value, repeated at once. Unobserving and unsubscribing close the stream. "webhook" and
// "websub" forms are not used.
//
// Failures the Thing reports (4xx, 5xx) are *wot.Error: an RFC 9457 problem-details body
// (application/problem+json) is decoded, any other body becomes the detail. Credentials
// follow the form's security through wot.Config.Authorize and are never sent on a redirect
// to another origin.
package wothttp
