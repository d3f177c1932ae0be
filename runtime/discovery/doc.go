// Package discovery finds W3C Web of Things Thing Descriptions
// (https://www.w3.org/TR/wot-discovery/).
//
// Directory is a client of a Thing Description Directory's HTTP API
// (https://www.w3.org/TR/wot-discovery/#exploration-directory-api): create, register, read, update,
// patch and delete TDs, list them page by page, search them with JSONPath, and follow change
// notifications over Server-Sent Events with resumption after a dropped stream.
package discovery
