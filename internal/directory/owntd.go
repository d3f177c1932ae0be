package directory

import (
	"net/http"
	"strings"
)

// handleOwnTD serves the directory's own TD at /.well-known/wot
// (https://www.w3.org/TR/wot-discovery/#introduction-well-known): the directory is a Thing of @type
// ThingDirectory whose affordances follow the normative directory Thing Model
// (https://www.w3.org/TR/wot-discovery/#directory-thing-description). Reads are nosec; writes carry
// bearer security when the directory has a token.
func (s *Server) handleOwnTD(w http.ResponseWriter, r *http.Request) {
	base := s.cfg.BaseURL
	if base == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + r.Host + "/"
	}
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	body, err := marshalJSON(directoryTD(base, s.cfg.Token != ""))
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, "application/td+json", body)
}

type obj = map[string]any

// DirectoryTD returns the TD of a directory served at base, for tests and tools.
func DirectoryTD(base string, bearerWrites bool) map[string]any {
	return directoryTD(base, bearerWrites)
}

func directoryTD(base string, bearerWrites bool) obj {
	problem := []obj{{"success": false, "contentType": "application/problem+json"}}
	empty := obj{"contentType": "application/x-empty"}
	idVar := obj{"id": obj{"title": "Thing Description id", "type": "string", "format": "iri-reference"}}
	tdSchema := obj{"description": "a Thing Description (JSON-LD 1.1 serialization)", "type": "object"}
	write := func(f obj) obj {
		if bearerWrites {
			f["security"] = []string{"bearer_sc"}
		}
		return f
	}
	action := func(title string, f obj, extra obj) obj {
		a := obj{"description": title, "forms": []obj{f}}
		for k, v := range extra {
			a[k] = v
		}
		return a
	}
	event := func(typ, desc string, diff bool) obj {
		href := "events/" + typ
		e := obj{
			"description": desc,
			"data":        obj{"type": "object", "description": "the TD id (diff=false), the full TD or a merge patch with id (diff=true)"},
			"forms": []obj{{
				"op":          "subscribeevent",
				"href":        href,
				"subprotocol": "sse",
				"contentType": "text/event-stream",
				"htv:headers": []obj{{"htv:fieldName": "Last-Event-ID", "htv:fieldValue": "the id of the last event received"}},
			}},
		}
		if diff {
			e["uriVariables"] = obj{"diff": obj{"type": "boolean", "description": "send the full TD (created) or a merge patch (updated)"}}
			e["forms"].([]obj)[0]["href"] = href + "{?diff}"
		}
		return e
	}
	return obj{
		"@context": []any{"https://www.w3.org/2022/wot/td/v1.1", DiscoveryContext, obj{"htv": "http://www.w3.org/2011/http#"}},
		"@type":    "ThingDirectory",
		"title":    "wotgen Thing Description Directory",
		"description": "A W3C WoT Thing Description Directory (https://www.w3.org/TR/wot-discovery/#exploration-directory): " +
			"CRUD and listing of TDs at /things, JSONPath search, and change notifications over Server-Sent Events.",
		"base": base,
		"securityDefinitions": obj{
			"nosec_sc":  obj{"scheme": "nosec"},
			"bearer_sc": obj{"scheme": "bearer", "in": "header", "name": "Authorization", "description": "the static token the directory was started with (-token)"},
		},
		"security": []string{"nosec_sc"},
		"properties": obj{
			"things": obj{
				"description": "all TDs, in ascending id order; pages carry Link rel=next and rel=canonical headers",
				"readOnly":    true,
				"type":        "array",
				"items":       obj{"type": "object"},
				"uriVariables": obj{
					"offset": obj{"type": "integer", "minimum": 0},
					"limit":  obj{"type": "integer", "minimum": 1},
					"format": obj{"type": "string", "enum": []string{"array", "collection"}},
				},
				"forms": []obj{{
					"op":                  "readproperty",
					"href":                "things{?offset,limit,format}",
					"htv:methodName":      "GET",
					"contentType":         "application/ld+json",
					"additionalResponses": problem,
				}},
			},
		},
		"actions": obj{
			"createThing": action("create a TD with the id in the URL (201), or replace it (204)", write(obj{
				"href": "things/{id}", "htv:methodName": "PUT", "contentType": "application/td+json",
				"response": empty, "additionalResponses": problem,
			}), obj{"uriVariables": idVar, "input": tdSchema, "idempotent": true}),
			"createAnonymousThing": action("create a TD without id; the new id is in the Location header", write(obj{
				"href": "things", "htv:methodName": "POST", "contentType": "application/td+json",
				"response": obj{"contentType": "application/x-empty", "htv:headers": []obj{{"htv:fieldName": "Location"}}}, "additionalResponses": problem,
			}), obj{"input": tdSchema}),
			"retrieveThing": action("read one enriched TD", obj{
				"href": "things/{id}", "htv:methodName": "GET", "response": obj{"contentType": "application/td+json"}, "additionalResponses": problem,
			}, obj{"uriVariables": idVar, "output": tdSchema, "safe": true, "idempotent": true}),
			"updateThing": action("replace a TD", write(obj{
				"href": "things/{id}", "htv:methodName": "PUT", "contentType": "application/td+json",
				"response": empty, "additionalResponses": problem,
			}), obj{"uriVariables": idVar, "input": tdSchema, "idempotent": true}),
			"partiallyUpdateThing": action("update a TD with a JSON Merge Patch (RFC 7396)", write(obj{
				"href": "things/{id}", "htv:methodName": "PATCH", "contentType": "application/merge-patch+json",
				"response": empty, "additionalResponses": problem,
			}), obj{"uriVariables": idVar, "input": obj{"type": "object", "description": "a partial TD"}}),
			"deleteThing": action("delete a TD", write(obj{
				"href": "things/{id}", "htv:methodName": "DELETE", "response": empty, "additionalResponses": problem,
			}), obj{"uriVariables": idVar, "idempotent": true}),
			"searchJSONPath": action("search with an RFC 9535 JSONPath query over the array of all TDs", obj{
				"href": "search/jsonpath{?query}", "htv:methodName": "GET",
				"response": obj{"contentType": "application/json"}, "additionalResponses": problem,
			}, obj{
				"uriVariables": obj{"query": obj{"type": "string", "description": "e.g. $[?(@.title=='Lamp')].id"}},
				"output":       obj{"type": "array"}, "safe": true, "idempotent": true,
			}),
		},
		"events": obj{
			"thingCreated": event(eventCreated, "a TD was created", true),
			"thingUpdated": event(eventUpdated, "a TD was updated", true),
			"thingDeleted": event(eventDeleted, "a TD was deleted or expired", false),
		},
	}
}
