// Package testthing holds the typed client wotgen generates for the node-wot Thing of the interop
// tests (interop/nodewot/thing.js). testthing.td.json is the TD that Thing serves, with its port
// replaced; the client dials the live TD, whose forms name the real port.
package testthing

//go:generate go run ../../../cmd/wotgen generate -pkg testthingwot -o testthingwot testthing.td.json
