// Package uuid makes random (version 4, RFC 9562) UUIDs cheaply enough for the per-message
// paths of the runtime, and recognises the canonical form.
package uuid

import (
	"crypto/rand"
	"sync"
)

// uuidBatch is how many UUIDs one crypto/rand read covers; reading in batches keeps
// New cheap on the per-message hot path.
const uuidBatch = 256

var uuidPool = sync.Pool{New: func() any { return new(uuidSource) }}

// uuidSource is a buffer of random bytes handed out 16 at a time. Each one is owned by a
// single goroutine at a time (it lives in a sync.Pool), so it needs no lock.
type uuidSource struct {
	buf [16 * uuidBatch]byte
	off int
}

// New returns a random (version 4, RFC 9562) UUID in its canonical 36-character form.
func New() string {
	s := uuidPool.Get().(*uuidSource)
	if s.off == 0 || s.off >= len(s.buf) {
		rand.Read(s.buf[:]) // never returns an error (crypto/rand, Go 1.24+)
		s.off = 0
	}
	var u [16]byte
	copy(u[:], s.buf[s.off:s.off+16])
	clear(s.buf[s.off : s.off+16]) // used bytes are not kept around
	s.off += 16
	uuidPool.Put(s)

	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	return formatUUID(u)
}

const hexDigits = "0123456789abcdef"

func formatUUID(u [16]byte) string {
	var out [36]byte
	j := 0
	for i, b := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out[j] = '-'
			j++
		}
		out[j] = hexDigits[b>>4]
		out[j+1] = hexDigits[b&0x0f]
		j += 2
	}
	return string(out[:])
}

// Valid reports whether s has the canonical 8-4-4-4-12 hexadecimal form (any version).
func Valid(s string) bool {
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
