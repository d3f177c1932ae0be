// Package jsonvalue compares generic JSON values as encoding/json decodes them (map[string]any,
// []any, string, bool, nil, and numbers as json.Number or Go numbers).
package jsonvalue

import (
	"encoding/json"
	"math/big"
	"strconv"
)

// Equal reports whether a and b are the same JSON value. Numbers compare by value, exactly for
// json.Number (1 equals 1.0 and 1e0; 0.1 is not 0.1000000000000000055…); objects ignore member order.
func Equal(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !Equal(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !Equal(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	ra, aNum := rat(a)
	rb, bNum := rat(b)
	if aNum || bNum {
		return aNum && bNum && ra != nil && rb != nil && ra.Cmp(rb) == 0
	}
	return a == b
}

// rat returns the exact value of a JSON number; isNum is false for other values. A number that does
// not parse yields a nil *big.Rat, which equals nothing.
func rat(v any) (r *big.Rat, isNum bool) {
	var s string
	switch x := v.(type) {
	case json.Number:
		s = string(x)
	case float64:
		s = strconv.FormatFloat(x, 'g', -1, 64)
	case float32:
		s = strconv.FormatFloat(float64(x), 'g', -1, 32)
	case int:
		s = strconv.Itoa(x)
	case int64:
		s = strconv.FormatInt(x, 10)
	case uint64:
		s = strconv.FormatUint(x, 10)
	default:
		return nil, false
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return nil, true
	}
	return r, true
}
