package tm

import "testing"

// validateDerivedForTest validates a derived TD; it uses gen/validate once that package is merged.
func validateDerivedForTest(t *testing.T, name string, td []byte) {}
