package build

// The server emitter (gen/emit/server.go) also declares these package-level functions; generated type
// names must avoid them like the names in DefaultReserved.
func init() {
	DefaultReserved = append(DefaultReserved, "NewThing", "NewThingFrom")
}
