package main

//go:generate go run ../../cmd/wotgen generate -pkg thermostatwot -o thermostatwot thermostat.td.json
//go:generate go run ../../cmd/wotgen generate -pkg plugwot -o plugwot plug.td.json
