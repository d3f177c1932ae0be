package wtp

import "github.com/wotgen/wotgen/runtime/internal/uuid"

// NewUUID returns a random (version 4, RFC 9562) UUID in its canonical 36-character form, as
// every messageID the binding sends is.
func NewUUID() string { return uuid.New() }

// isUUID reports whether s has the canonical 8-4-4-4-12 hexadecimal form (any version).
func isUUID(s string) bool { return uuid.Valid(s) }
