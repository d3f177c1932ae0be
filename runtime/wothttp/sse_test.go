package wothttp

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func parseAll(t testing.TB, stream string, max int) ([]sseEvent, *sseParser, error) {
	t.Helper()
	p := newSSEParser(strings.NewReader(stream), max, "")
	var out []sseEvent
	for {
		ev, err := p.Next()
		if err != nil {
			return out, p, err
		}
		out = append(out, ev)
	}
}

func TestSSEParser(t *testing.T) {
	type ev struct{ typ, data, id string }
	cases := []struct {
		name   string
		in     string
		want   []ev
		retry  time.Duration
		lastID string
	}{
		{"named event", "event: level\ndata: 42\nid: 1\n\n", []ev{{"level", "42", "1"}}, 0, "1"},
		{"unnamed is message", "data: 1\n\n", []ev{{"message", "1", ""}}, 0, ""},
		{"multi-line data joins with LF", "data: {\"a\":\ndata: 1}\n\n", []ev{{"message", "{\"a\":\n1}", ""}}, 0, ""},
		{"CRLF line ends", "event: e\r\ndata: 2\r\n\r\n", []ev{{"e", "2", ""}}, 0, ""},
		{"CR line ends", "event: e\rdata: 3\r\r", []ev{{"e", "3", ""}}, 0, ""},
		{"mixed line ends", "data: a\r\ndata: b\rdata: c\n\r\n", []ev{{"message", "a\nb\nc", ""}}, 0, ""},
		{"BOM skipped once", "\xEF\xBB\xBFdata: 4\n\n", []ev{{"message", "4", ""}}, 0, ""},
		{"second BOM is a field name", "\xEF\xBB\xBF\xEF\xBB\xBFdata: 4\n\n", nil, 0, ""},
		{"comments ignored", ": keep-alive\n:\ndata: 5\n: more\n\n", []ev{{"message", "5", ""}}, 0, ""},
		{"no space after colon", "data:6\n\n", []ev{{"message", "6", ""}}, 0, ""},
		{"only one space stripped", "data:  7\n\n", []ev{{"message", " 7", ""}}, 0, ""},
		{"field without colon", "data\n\n", []ev{{"message", "", ""}}, 0, ""},
		{"empty data line dispatches empty data", "event: ping\ndata:\n\n", []ev{{"ping", "", ""}}, 0, ""},
		{"no data no dispatch", "event: x\nid: 9\n\n", nil, 0, "9"},
		{"id persists", "id: a\ndata: 1\n\ndata: 2\n\n", []ev{{"message", "1", "a"}, {"message", "2", "a"}}, 0, "a"},
		{"id with NUL ignored", "id: a\x00b\ndata: 1\n\n", []ev{{"message", "1", ""}}, 0, ""},
		{"empty id resets", "id: a\ndata: 1\n\nid\ndata: 2\n\n", []ev{{"message", "1", "a"}, {"message", "2", ""}}, 0, ""},
		{"retry digits", "retry: 2500\n\n", nil, 2500 * time.Millisecond, ""},
		{"retry non-digits ignored", "retry: 25x\nretry: -1\nretry:\n\n", nil, 0, ""},
		{"unknown field ignored", "foo: bar\ndata: 1\n\n", []ev{{"message", "1", ""}}, 0, ""},
		{"partial event at EOF discarded", "data: 1\n\ndata: 2\n", []ev{{"message", "1", ""}}, 0, ""},
		{"line without terminator at EOF discarded", "data: 1\n\ndata: 2", []ev{{"message", "1", ""}}, 0, ""},
		{"event type reset after dispatch", "event: a\ndata: 1\n\ndata: 2\n\n", []ev{{"a", "1", ""}, {"message", "2", ""}}, 0, ""},
		{"event type reset without data", "event: a\n\ndata: 2\n\n", []ev{{"message", "2", ""}}, 0, ""},
		{"colon in value kept", "data: a:b\n\n", []ev{{"message", "a:b", ""}}, 0, ""},
		{"field names are case-sensitive", "Data: 1\nDATA: 2\n\n", nil, 0, ""},
		{"blank lines between events", "\n\n\ndata: 1\n\n\n\n", []ev{{"message", "1", ""}}, 0, ""},
		{"invalid UTF-8 passes through", "data: \xff\n\n", []ev{{"message", "\xff", ""}}, 0, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, p, err := parseAll(t, tc.in, 1<<10)
			if !errors.Is(err, io.EOF) {
				t.Fatalf("err = %v, want io.EOF", err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d events %+v, want %d %+v", len(got), got, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if got[i].Type != w.typ || string(got[i].Data) != w.data || got[i].ID != w.id {
					t.Errorf("event %d = {%q %q %q}, want {%q %q %q}", i, got[i].Type, got[i].Data, got[i].ID, w.typ, w.data, w.id)
				}
			}
			if p.retry != tc.retry {
				t.Errorf("retry = %v, want %v", p.retry, tc.retry)
			}
			if p.lastID != tc.lastID {
				t.Errorf("last event ID = %q, want %q", p.lastID, tc.lastID)
			}
		})
	}
}

func TestSSEParserOwnID(t *testing.T) {
	got, _, _ := parseAll(t, "id: a\ndata: 1\n\ndata: 2\n\nid: b\ndata: 3\n\n", 1<<10)
	own := []bool{true, false, true}
	for i, ev := range got {
		if ev.OwnID != own[i] {
			t.Errorf("event %d OwnID = %v, want %v", i, ev.OwnID, own[i])
		}
	}
}

func TestSSEParserBounds(t *testing.T) {
	long := "data: " + strings.Repeat("x", 200) + "\n\n"
	if _, _, err := parseAll(t, long, 100); !errors.Is(err, errSSETooLarge) {
		t.Errorf("long line: err = %v, want errSSETooLarge", err)
	}
	many := strings.Repeat("data: "+strings.Repeat("y", 40)+"\n", 10) + "\n"
	if _, _, err := parseAll(t, many, 100); !errors.Is(err, errSSETooLarge) {
		t.Errorf("big event: err = %v, want errSSETooLarge", err)
	}
	// A long comment line is bounded too: the parser never buffers a line without limit.
	if _, _, err := parseAll(t, ":"+strings.Repeat("z", 1000)+"\n", 100); !errors.Is(err, errSSETooLarge) {
		t.Errorf("long comment: err = %v, want errSSETooLarge", err)
	}
	// At the bound exactly: fine.
	ok := "data: " + strings.Repeat("x", 99) + "\n\n"
	if evs, _, err := parseAll(t, ok, 100); !errors.Is(err, io.EOF) || len(evs) != 1 {
		t.Errorf("event at the bound: %d events, err %v", len(evs), err)
	}
}

func FuzzSSEParser(f *testing.F) {
	for _, s := range []string{
		"event: level\ndata: 42\nid: 2021-11-17T15:33:20.827Z\n\n",
		"\xEF\xBB\xBFdata: a\r\ndata: b\r\r",
		": c\nretry: 10\nid: \x00\ndata\n\n",
		"data: " + strings.Repeat("q", 300) + "\n\n",
		"\r\n\r\n\n\r",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		p := newSSEParser(strings.NewReader(string(in)), 256, "")
		for i := 0; ; i++ {
			ev, err := p.Next()
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, errSSETooLarge) {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if i > len(in) {
				t.Fatalf("more events than input bytes")
			}
			if len(ev.Data) > 256 || ev.Type == "" || strings.ContainsAny(ev.Type, "\r\n") || strings.ContainsAny(ev.ID, "\r\n\x00") {
				t.Fatalf("bad event %+v", ev)
			}
		}
	})
}
