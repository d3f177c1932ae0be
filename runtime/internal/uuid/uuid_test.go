package uuid

import (
	"sync"
	"testing"
)

func TestNewUUID(t *testing.T) {
	seen := make(map[string]bool)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 1000 {
				u := New()
				if !Valid(u) || u[14] != '4' || !(u[19] == '8' || u[19] == '9' || u[19] == 'a' || u[19] == 'b') {
					t.Errorf("%q is not a canonical UUIDv4", u)
				}
				mu.Lock()
				if seen[u] {
					t.Errorf("duplicate %s", u)
				}
				seen[u] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

func TestIsUUID(t *testing.T) {
	for s, want := range map[string]bool{
		"aed5b912-bbcb-4b2a-a7fc-88863a0fc7bd": true,
		"AED5B912-BBCB-4B2A-A7FC-88863A0FC7BD": true,
		"aed5b912bbcb-4b2a-a7fc-88863a0fc7bd-": false,
		"not-a-uuid":                           false,
	} {
		if Valid(s) != want {
			t.Errorf("Valid(%q) != %v", s, want)
		}
	}
}

func BenchmarkNewUUID(b *testing.B) {
	for b.Loop() {
		_ = New()
	}
}
