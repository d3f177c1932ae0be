package td

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Error is a parse error with the place it refers to.
type Error struct {
	File    string // as given to ParseFile; empty for Parse
	Line    int    // 1-based; 0 when unknown
	Column  int    // 1-based, in bytes; 0 when unknown
	Pointer string // JSON pointer (RFC 6901) of the offending member; "" for syntax errors
	Msg     string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteByte(':')
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, "%d:%d:", e.Line, e.Column)
	}
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
	if e.Pointer != "" {
		fmt.Fprintf(&b, "%s: ", e.Pointer)
	}
	b.WriteString(e.Msg)
	return b.String()
}

// pathError carries the member path of a decoding error while it travels up the decoders.
type pathError struct {
	path []string // innermost first
	err  error
}

func (e *pathError) Error() string { return pointerOf(e.path) + ": " + e.err.Error() }

func wrapPath(seg string, err error) error {
	var pe *pathError
	if errors.As(err, &pe) {
		pe.path = append(pe.path, seg)
		return pe
	}
	return &pathError{path: []string{seg}, err: err}
}

func pointerOf(reversed []string) string {
	var b strings.Builder
	for i := len(reversed) - 1; i >= 0; i-- {
		b.WriteByte('/')
		b.WriteString(EscapePointer(reversed[i]))
	}
	return b.String()
}

// EscapePointer escapes one JSON pointer reference token (RFC 6901).
func EscapePointer(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}

var bom = []byte{0xEF, 0xBB, 0xBF}

// Parse parses a TD (or Thing Model) document. A leading UTF-8 byte order mark is tolerated.
// Errors are *Error values with line, column and JSON pointer.
func Parse(data []byte) (*Thing, error) {
	data = bytes.TrimPrefix(data, bom)
	if err := checkSyntax(data); err != nil {
		return nil, err
	}
	t := new(Thing)
	if err := json.Unmarshal(data, t); err != nil {
		var pe *pathError
		if errors.As(err, &pe) {
			ptr := pointerOf(pe.path)
			e := &Error{Pointer: ptr, Msg: pe.err.Error()}
			if off, ok := Offset(data, ptr); ok {
				e.Line, e.Column = LineColumn(data, off)
			}
			return nil, e
		}
		return nil, &Error{Line: 1, Column: 1, Msg: "a Thing Description must be a JSON object"}
	}
	return t, nil
}

// ParseFile reads and parses the file at path; errors name the file.
func ParseFile(path string) (*Thing, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	t, err := Parse(data)
	var e *Error
	if errors.As(err, &e) {
		e.File = path
	}
	return t, err
}

// checkSyntax reports the first JSON syntax error with its position.
func checkSyntax(data []byte) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return &Error{Line: 1, Column: 1, Msg: "empty document: want a JSON object"}
	}
	if off, ok := TooDeep(data, MaxDepth); ok {
		line, col := LineColumn(data, off)
		return &Error{Line: line, Column: col, Msg: fmt.Sprintf("JSON nested deeper than %d levels; no Thing Description needs that much", MaxDepth)}
	}
	var v json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	err := dec.Decode(&v)
	if err == nil {
		off := int(dec.InputOffset())
		for off < len(data) && strings.IndexByte(" \t\r\n", data[off]) >= 0 {
			off++
		}
		if _, err2 := dec.Token(); err2 != io.EOF {
			line, col := LineColumn(data, off)
			return &Error{Line: line, Column: col, Msg: "unexpected data after the top-level JSON value"}
		}
		return nil
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		off := int(se.Offset)
		if off > 0 {
			off-- // Offset counts the byte that failed
		}
		line, col := LineColumn(data, off)
		return &Error{Line: line, Column: col, Msg: "invalid JSON: " + se.Error()}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		line, col := LineColumn(data, len(data))
		return &Error{Line: line, Column: col, Msg: "invalid JSON: unexpected end of input (truncated document?)"}
	}
	return &Error{Line: 1, Column: 1, Msg: "invalid JSON: " + err.Error()}
}

// MaxDepth bounds the nesting of objects and arrays Parse accepts. Real TDs nest a few levels; the
// bound keeps hostile documents from costing more than linear time.
const MaxDepth = 256

// TooDeep reports the offset of the first bracket in data that nests deeper than max objects and
// arrays; a linear scan that needs no valid JSON, for refusing hostile input before decoding it.
func TooDeep(data []byte, max int) (int, bool) {
	depth := 0
	inString := false
	for i := 0; i < len(data); i++ {
		c := data[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
			if depth > max {
				return i, true
			}
		case '}', ']':
			depth--
		}
	}
	return 0, false
}

// LineColumn converts a byte offset into a 1-based line and column (columns count bytes).
func LineColumn(data []byte, off int) (line, col int) {
	if off > len(data) {
		off = len(data)
	}
	line = 1 + bytes.Count(data[:off], []byte{'\n'})
	col = off - bytes.LastIndexByte(data[:off], '\n')
	return line, col
}

// Offset returns the byte offset where the value at the JSON pointer ptr starts in data; ok is false
// if the pointer does not resolve. It is meant for error reporting, not for hot paths.
func Offset(data []byte, ptr string) (off int, ok bool) {
	data = bytes.TrimPrefix(data, bom)
	var toks []string
	if ptr != "" {
		if !strings.HasPrefix(ptr, "/") {
			return 0, false
		}
		for _, t := range strings.Split(ptr[1:], "/") {
			toks = append(toks, strings.NewReplacer("~1", "/", "~0", "~").Replace(t))
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	// skipValue consumes one value whose first token has been read.
	skipValue := func(tok json.Token) bool {
		d, isDelim := tok.(json.Delim)
		if !isDelim || (d != '{' && d != '[') {
			return true
		}
		depth := 1
		for depth > 0 {
			t, err := dec.Token()
			if err != nil {
				return false
			}
			if d, ok := t.(json.Delim); ok {
				if d == '{' || d == '[' {
					depth++
				} else {
					depth--
				}
			}
		}
		return true
	}
	valueStart := func() int {
		// InputOffset is just past the previous token; skip separators to the value itself.
		o := int(dec.InputOffset())
		for o < len(data) && (data[o] == ' ' || data[o] == '\t' || data[o] == '\n' || data[o] == '\r' || data[o] == ':' || data[o] == ',') {
			o++
		}
		return o
	}
	start := valueStart()
	tok, err := dec.Token()
	if err != nil {
		return 0, false
	}
	for _, want := range toks {
		d, isDelim := tok.(json.Delim)
		if !isDelim {
			return 0, false
		}
		found := false
		switch d {
		case '{':
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return 0, false
				}
				key, _ := kt.(string)
				vs := valueStart()
				vt, err := dec.Token()
				if err != nil {
					return 0, false
				}
				if key == want {
					start, tok, found = vs, vt, true
					break
				}
				if !skipValue(vt) {
					return 0, false
				}
			}
		case '[':
			n, err := strconv.Atoi(want)
			if err != nil {
				return 0, false
			}
			for i := 0; dec.More(); i++ {
				vs := valueStart()
				vt, err := dec.Token()
				if err != nil {
					return 0, false
				}
				if i == n {
					start, tok, found = vs, vt, true
					break
				}
				if !skipValue(vt) {
					return 0, false
				}
			}
		}
		if !found {
			return 0, false
		}
	}
	return start, true
}
