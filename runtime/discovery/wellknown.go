package discovery

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"

	"github.com/wotgen/wotgen/runtime/td"
)

// WellKnownPath is where a Thing or a directory serves its own TD (WoT Discovery §6.2,
// https://www.w3.org/TR/wot-discovery/#introduction-well-known, RFC 8615).
const WellKnownPath = "/.well-known/wot"

// WellKnownURL turns an introduction into the URL to fetch: a bare origin ("http://host:8080" or
// "http://host:8080/") becomes its /.well-known/wot URL; a URL with a path is a direct introduction
// (https://www.w3.org/TR/wot-discovery/#introduction-direct) and is returned as it is. Only http and https are accepted.
func WellKnownURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("discovery: %q: want an http:// or https:// URL of a Thing, or of a host serving %s", raw, WellKnownPath)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = WellKnownPath
		u.RawPath = ""
	}
	return u.String(), nil
}

// FetchTDs retrieves the TDs an introduction URL serves (https://www.w3.org/TR/wot-discovery/#exploration-server, HTTP GET): one TD, or,
// from servers that expose several Things at /.well-known/wot (as wotgen's do), a JSON array of
// TDs. It applies the size, time and redirect bounds of o (see td.Fetch). The TDs that parse are
// returned together with an error naming each element that did not; the returned URL is the one
// the document came from after redirects, against which relative hrefs resolve.
func FetchTDs(ctx context.Context, rawURL string, o td.FetchOptions) ([]*td.Thing, *url.URL, error) {
	u, err := WellKnownURL(rawURL)
	if err != nil {
		return nil, nil, err
	}
	body, final, err := td.Fetch(ctx, u, o)
	if err != nil {
		return nil, nil, fmt.Errorf("discovery: %w", err)
	}
	things, err := ParseTDs(body)
	if err != nil {
		return things, final, fmt.Errorf("discovery: %s: %w", td.RedactURL(final), err)
	}
	return things, final, nil
}

// ParseTDs reads one TD (a JSON object) or a JSON array of TDs.
func ParseTDs(body []byte) ([]*td.Thing, error) {
	trimmed := bytes.TrimLeft(body, " \t\r\n\ufeff")
	if len(trimmed) == 0 {
		return nil, errors.New("empty document: want a TD (a JSON object) or a JSON array of TDs")
	}
	switch trimmed[0] {
	case '{':
		t, err := parseElement(trimmed)
		if err != nil {
			return nil, err
		}
		return []*td.Thing{t}, nil
	case '[':
		var elems []json.RawMessage
		if err := json.Unmarshal(trimmed, &elems); err != nil {
			return nil, fmt.Errorf("not a JSON array of TDs: %w", err)
		}
		var things []*td.Thing
		var errs []error
		for i, e := range elems {
			t, err := parseElement(e)
			if err != nil {
				errs = append(errs, fmt.Errorf("element %d: %w", i, err))
				continue
			}
			things = append(things, t)
		}
		return things, errors.Join(errs...)
	case '<':
		return nil, errors.New("got HTML or XML, not JSON: is this the URL of a TD?")
	}
	return nil, fmt.Errorf("not JSON: starts with %q; want a TD (a JSON object) or a JSON array of TDs", clip(string(trimmed[:min(len(trimmed), 20)])))
}

func parseElement(raw json.RawMessage) (*td.Thing, error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, fmt.Errorf("a %s, not a TD object", jsonKind(trimmed))
	}
	t, err := td.Parse(trimmed)
	if err != nil {
		return nil, fmt.Errorf("not a valid TD: %w", err)
	}
	if len(t.Context) == 0 && t.Title == "" {
		return nil, errors.New("a JSON object with neither @context nor title, not a TD")
	}
	return t, nil
}

func jsonKind(b []byte) string {
	if len(b) == 0 {
		return "nothing"
	}
	switch b[0] {
	case '[':
		return "JSON array"
	case '"':
		return "JSON string"
	case 't', 'f':
		return "JSON boolean"
	case 'n':
		return "JSON null"
	}
	return "JSON number"
}

// IsThingLink reports whether a TD is a Thing Link: it describes no Thing itself but points
// at a TD stored elsewhere with a "describedby" link
// (https://www.w3.org/TR/wot-discovery/#exploration-td-type-thinglink).
func IsThingLink(t *td.Thing) bool {
	for _, ty := range t.AtType {
		switch ty {
		case "ThingLink", "discovery:ThingLink",
			"https://www.w3.org/2022/wot/discovery#ThingLink",
			"https://www.w3.org/2022/wot/discovery-ontology#ThingLink":
			return true
		}
	}
	return false
}

// IsDirectory reports whether a TD describes a Thing Description Directory: its @type holds
// ThingDirectory or one of the IRIs the discovery specifications use for it
// (https://www.w3.org/TR/wot-discovery/#exploration-td-type-thingdirectory).
func IsDirectory(t *td.Thing) bool {
	for _, ty := range t.AtType {
		switch ty {
		case "ThingDirectory", "discovery:ThingDirectory",
			"https://www.w3.org/2022/wot/discovery#ThingDirectory",
			"https://www.w3.org/2022/wot/discovery-ontology#ThingDirectory":
			return true
		}
	}
	return false
}
