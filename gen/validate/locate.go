package validate

import (
	"strconv"
)

// locate finds the byte offsets of the given JSON pointers in data, which must be valid JSON (it
// already went through parseJSON). Members are located at their name, array elements and the root at
// their value. It runs only when a file has findings, so valid files never pay for it; one pass
// serves every pointer. Pointers that do not exist (e.g. a missing member) are absent from the result.
func locate(data []byte, pointers map[string]bool) map[string]int {
	out := make(map[string]int, len(pointers))
	if len(pointers) == 0 {
		return out
	}
	l := &locator{data: data, want: pointers, out: out}
	if len(data) >= 3 && data[0] == 0xEF && data[1] == 0xBB && data[2] == 0xBF {
		l.pos = 3
	}
	l.skipSpace()
	l.mark(l.pos)
	l.value(0)
	return out
}

type locator struct {
	data []byte
	pos  int
	path []byte // current JSON pointer
	want map[string]bool
	out  map[string]int
}

func (l *locator) mark(off int) {
	if l.want[string(l.path)] {
		if _, seen := l.out[string(l.path)]; !seen { // first occurrence wins for duplicate keys
			l.out[string(l.path)] = off
		}
	}
}

func (l *locator) skipSpace() {
	for l.pos < len(l.data) {
		switch l.data[l.pos] {
		case ' ', '\t', '\n', '\r':
			l.pos++
		default:
			return
		}
	}
}

// value skips one value; it descends into containers only while a wanted pointer can lie below.
func (l *locator) value(depth int) {
	l.skipSpace()
	if l.pos >= len(l.data) || depth > maxDepth {
		return
	}
	switch l.data[l.pos] {
	case '{':
		l.pos++
		for {
			l.skipSpace()
			if l.pos >= len(l.data) {
				return
			}
			if l.data[l.pos] == '}' {
				l.pos++
				return
			}
			if l.data[l.pos] == ',' {
				l.pos++
				continue
			}
			keyOff := l.pos
			p := parser{data: l.data, pos: l.pos}
			key, ok := p.str()
			if !ok {
				return
			}
			l.pos = p.pos
			l.skipSpace()
			l.pos++ // ':'
			n := len(l.path)
			l.path = append(l.path, '/')
			l.path = append(l.path, escapePointerToken(key)...)
			l.mark(keyOff)
			l.value(depth + 1)
			l.path = l.path[:n]
		}
	case '[':
		l.pos++
		for i := 0; ; {
			l.skipSpace()
			if l.pos >= len(l.data) {
				return
			}
			if l.data[l.pos] == ']' {
				l.pos++
				return
			}
			if l.data[l.pos] == ',' {
				l.pos++
				continue
			}
			n := len(l.path)
			l.path = append(l.path, '/')
			l.path = strconv.AppendInt(l.path, int64(i), 10)
			l.mark(l.pos)
			l.value(depth + 1)
			l.path = l.path[:n]
			i++
		}
	case '"':
		p := parser{data: l.data, pos: l.pos}
		if _, ok := p.str(); ok {
			l.pos = p.pos
		} else {
			l.pos = len(l.data)
		}
	default:
		for l.pos < len(l.data) {
			switch l.data[l.pos] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return
			}
			l.pos++
		}
	}
}
