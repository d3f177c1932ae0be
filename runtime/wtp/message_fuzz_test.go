package wtp

import (
	"encoding/json"
	"reflect"
	"testing"
)

// normWire makes empty and nil collections compare equal (encoding/json may leave either).
func normWire(w wireMessage) wireMessage {
	if len(w.Names) == 0 && w.Names != nil {
		w.Names = []string{}
	}
	return w
}

// FuzzDecodeMessage checks that decoding never panics, and that whatever decodes cleanly
// and re-encodes strictly is valid JSON that decodes to the same message.
func FuzzDecodeMessage(f *testing.F) {
	for _, s := range []string{
		`{"thingID":"https://farm.example.org/things/valve-7","messageID":"aed5b912-bbcb-4b2a-a7fc-88863a0fc7bd","messageType":"request","operation":"readproperty","name":"flowRate","correlationID":"11da6584-df70-4612-8717-25ada44c9d88"}`,
		`{"thingID":"x:y","messageID":"a","messageType":"response","operation":"writeallproperties","values":{"open":true,"targetFlow":20},"timestamp":"2025-11-03T09:15:06.000Z"}`,
		`{"thingID":"x:y","messageID":"a","messageType":"response","operation":"queryallactions","statuses":{"flush":[{"actionID":"1","status":"failed","error":{"status":"503","actionID":"z"}}],"x":[]}}`,
		`{"thingID":"x:y","messageID":"a","messageType":"event","operation":"subscribeproperty","name":"leak","value":{"zone":"B2"}}`,
		`{"thingID":"x:y","messageID":"a","messageType":"response","operation":"invokeaction","name":"flush","status":{"state":"pending","timeRequested":"2025-11-03T09:15:15+01:00"},"actionID":"q"}`,
		`{"thingID":"x:y","names":["a",1],"value":null,"error":{"status":404,"type":"t","title":"Not Found","x":[1]}}`,
		`[1]`, `"x"`, `{`, ``, `{"status":{"state":5}}`, `{"timestamp":"2025-11-03T24:00:00Z"}`,
		`{"values":{"a":1},"values":{"b":[2,{"c":"\u00e9"}]},"names":["x"],"names":[],"value":null,"value":1e5}`,
		` {"thingID" : "a" , "input":{"x":[true,false,null,-0.5e-3]}, "output":"s\"q", "data":[]} `,
		`{"name":"caf\u00e9","Name":"x","thingid":"y"}`, `{"value":01}`, `{"value":"\ud800"}`, `{}`, `{"a":}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		// The fast path, when it takes a message, must agree with encoding/json.
		var fast, slow wireMessage
		if decodeWireFast(b, &fast) {
			if err := json.Unmarshal(b, &slow); err != nil {
				t.Fatalf("fast path accepted %q, encoding/json says %v", b, err)
			}
			if !reflect.DeepEqual(normWire(fast), normWire(slow)) {
				t.Fatalf("fast path differs on %q:\n fast %+v\n slow %+v", b, fast, slow)
			}
		}
		m, err := DecodeMessage(b)
		if err != nil {
			return
		}
		out, err := AppendMessage(nil, m)
		if err != nil {
			return // strict encoding may refuse what liberal decoding accepted
		}
		if !json.Valid(out) {
			t.Fatalf("AppendMessage produced invalid JSON %q from %q", out, b)
		}
		m2, err := DecodeMessage(out)
		if err != nil {
			t.Fatalf("re-decode of %q: %v", out, err)
		}
		out2, err := AppendMessage(nil, m2)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if string(out) != string(out2) {
			t.Fatalf("encoding not stable:\n%s\n%s", out, out2)
		}
	})
}
