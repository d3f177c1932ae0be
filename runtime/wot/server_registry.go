package wot

import "sync"

var serverRegistry struct {
	mu    sync.Mutex
	ctors []func() ServerBinding
}

// RegisterServer makes a server binding available to every Server created afterwards
// (unless WithServerBindings or WithoutBinding say otherwise): each Server gets its own
// instance from the constructor. Binding packages call it from their init function.
func RegisterServer(b func() ServerBinding) {
	if b == nil {
		panic("wot: RegisterServer(nil)")
	}
	serverRegistry.mu.Lock()
	defer serverRegistry.mu.Unlock()
	serverRegistry.ctors = append(serverRegistry.ctors, b)
}

func newRegisteredServerBindings() []ServerBinding {
	serverRegistry.mu.Lock()
	ctors := append([]func() ServerBinding(nil), serverRegistry.ctors...)
	serverRegistry.mu.Unlock()
	bs := make([]ServerBinding, 0, len(ctors))
	for _, c := range ctors {
		bs = append(bs, c())
	}
	return bs
}
