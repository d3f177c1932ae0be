package wothttp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
)

// sseEvent is one dispatched server-sent event.
type sseEvent struct {
	Type string // the event type; "message" when the stream named none
	Data []byte // the data buffer without its final LF; may be empty
	ID   string // the last event ID string after this event (it persists across events)
	// OwnID reports whether the event's own block had an "id" field: only then is ID this
	// event's identity rather than an earlier event's.
	OwnID bool
}

// sseParser reads a text/event-stream as the WHATWG HTML standard's "Server-sent events"
// section prescribes (https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream):
// a leading BOM is skipped, lines end with CRLF, LF or CR, a blank line dispatches, "data"
// lines join with LF, an event with an empty data buffer is not dispatched, "id" values with
// NUL are ignored, "retry" takes only ASCII digits, ":" starts a comment, and a partial
// event at the end of the stream is discarded. Lines and events are bounded, so a hostile or
// broken server cannot make the consumer buffer without limit.
type sseParser struct {
	r        *bufio.Reader
	maxEvent int // bound on one line and on one event's data buffer

	started   bool // the BOM check is done
	skipLF    bool // the previous line ended with CR: an LF right after it belongs to it
	line      []byte
	data      []byte
	eventType string
	lastID    string        // the last event ID string
	idBuf     string        // the last event ID buffer
	idSeen    bool          // an "id" field since the last dispatch
	retry     time.Duration // the reconnection time the stream asked for; 0 = not set
}

// errSSETooLarge reports a line or event beyond the parser's bound.
var errSSETooLarge = errors.New("server-sent event too large")

func newSSEParser(r io.Reader, maxEvent int, lastID string) *sseParser {
	return &sseParser{r: bufio.NewReaderSize(r, 4096), maxEvent: maxEvent, lastID: lastID, idBuf: lastID}
}

// Next returns the next dispatched event. At the end of the stream it returns io.EOF (or the
// reader's error); a line or event over the bound is errSSETooLarge.
func (p *sseParser) Next() (sseEvent, error) {
	for {
		line, err := p.readLine()
		if err != nil {
			return sseEvent{}, err
		}
		if len(line) == 0 {
			if ev, ok := p.dispatch(); ok {
				return ev, nil
			}
			continue
		}
		if err := p.field(line); err != nil {
			return sseEvent{}, err
		}
	}
}

// dispatch ends the current event (a blank line).
func (p *sseParser) dispatch() (sseEvent, bool) {
	p.lastID = p.idBuf
	own := p.idSeen
	p.idSeen = false
	if len(p.data) == 0 {
		p.data, p.eventType = p.data[:0], ""
		return sseEvent{}, false
	}
	data := p.data
	if data[len(data)-1] == '\n' {
		data = data[:len(data)-1]
	}
	ev := sseEvent{Type: p.eventType, Data: bytes.Clone(data), ID: p.lastID, OwnID: own}
	if ev.Type == "" {
		ev.Type = "message"
	}
	p.data, p.eventType = p.data[:0], ""
	return ev, true
}

func (p *sseParser) field(line []byte) error {
	if line[0] == ':' {
		return nil // a comment (a keep-alive, usually)
	}
	name, value := line, []byte(nil)
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		name, value = line[:i], line[i+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	switch string(name) {
	case "event":
		p.eventType = string(value)
	case "data":
		if len(p.data)+len(value)+1 > p.maxEvent {
			return fmt.Errorf("%w: the data of one event exceeds %d bytes", errSSETooLarge, p.maxEvent)
		}
		p.data = append(p.data, value...)
		p.data = append(p.data, '\n')
	case "id":
		if bytes.IndexByte(value, 0) < 0 {
			p.idBuf = string(value)
			p.idSeen = true
		}
	case "retry":
		if n, ok := asciiDigits(value); ok {
			p.retry = time.Duration(n) * time.Millisecond
		}
	}
	return nil
}

// asciiDigits parses a non-empty run of ASCII digits, saturating instead of overflowing.
func asciiDigits(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		n = int64(time.Duration(1<<63-1) / time.Millisecond)
	}
	return min(n, int64(time.Duration(1<<63-1)/time.Millisecond)), true
}

// readLine returns the next line without its terminator. The returned slice is valid until
// the next call.
func (p *sseParser) readLine() ([]byte, error) {
	p.line = p.line[:0]
	for {
		b, err := p.r.ReadByte()
		if err != nil {
			// A line without a terminator at the end of the stream is incomplete: discard it.
			return nil, err
		}
		if !p.started {
			p.started = true
			if b == 0xEF {
				if bom, err := p.r.Peek(2); err == nil && bom[0] == 0xBB && bom[1] == 0xBF {
					p.r.Discard(2)
					continue
				}
			}
		}
		if p.skipLF {
			p.skipLF = false
			if b == '\n' {
				continue
			}
		}
		switch b {
		case '\n':
			return p.line, nil
		case '\r':
			p.skipLF = true
			return p.line, nil
		}
		if len(p.line) >= p.maxEvent+len("data: ") {
			return nil, fmt.Errorf("%w: a line exceeds %d bytes", errSSETooLarge, p.maxEvent)
		}
		p.line = append(p.line, b)
	}
}
