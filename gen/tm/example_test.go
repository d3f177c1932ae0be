package tm_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/wotgen/wotgen/gen/tm"
)

// Resolve a model that extends another one, fill its placeholders and derive a TD with Web Thing
// Protocol forms.
func Example() {
	l := tm.NewLoader() // one Loader (and cache) per run
	m, err := tm.Resolve(context.Background(), l, "testdata/valve.tm.json")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("placeholders:", m.Placeholders)
	fmt.Println("optional:", m.Optional)

	values := map[string]any{"VALVE_NO": 7, "VALVE_UUID": "0f2d7a3c-51e4-4b8e-9c61-7d2a9b1e4f35", "MAX_FLOW": tm.ParseValue("40")}
	out, _, err := tm.Derive(m, tm.Options{Values: values, WTP: true, Base: "wss://farm.example.org/"})
	if err != nil {
		fmt.Println(err)
		return
	}
	var td struct {
		Title      string
		ID         string
		Properties map[string]struct {
			Maximum *float64
			Forms   []struct{ Href, Subprotocol string }
		}
	}
	if err := json.Unmarshal(out, &td); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(td.Title, td.ID)
	tf := td.Properties["targetFlow"]
	fmt.Println("targetFlow maximum:", *tf.Maximum, "form:", tf.Forms[0].Href, tf.Forms[0].Subprotocol)
	_, kept := td.Properties["flowLocal"]
	fmt.Println("optional flowLocal kept:", kept)
	// Output:
	// placeholders: [MAX_FLOW VALVE_NO VALVE_UUID]
	// optional: [/events/leak /properties/flowBase /properties/flowLocal]
	// Valve 7 urn:uuid:0f2d7a3c-51e4-4b8e-9c61-7d2a9b1e4f35
	// targetFlow maximum: 40 form: wtp webthingprotocol
	// optional flowLocal kept: false
}
