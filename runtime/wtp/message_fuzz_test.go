package wtp

import (
	"encoding/json"
	"testing"
)

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
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
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
