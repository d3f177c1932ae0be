package wot

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
				u := newUUID()
				if !isUUID(u) || u[14] != '4' || !(u[19] == '8' || u[19] == '9' || u[19] == 'a' || u[19] == 'b') {
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

func BenchmarkNewUUID(b *testing.B) {
	for b.Loop() {
		_ = newUUID()
	}
}

// isUUID reports whether s has the canonical 8-4-4-4-12 hexadecimal form (any version).
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}
