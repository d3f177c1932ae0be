package main

//go:generate go run ../../cmd/wotgen generate -pkg lampwot -o lampwot lamp.td.json
