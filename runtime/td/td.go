// Package td is the W3C Web of Things Thing Description (TD) document model shared by the generator and
// the runtime.
//
// Parse accepts every JSON shape TD 1.0 and TD 1.1 allow (a string or an array for @context, @type, op,
// security and scopes, one schema or a tuple for items) and keeps members the model does not know in the
// Extra map of the object they appear in, so Parse followed by json.Marshal loses nothing. Defaults are
// not filled in by Parse: the parsed Thing is the document as written, which validation needs; call
// Normalize for a copy with every TD default made explicit.
package td

import "encoding/json"

// Context URIs that identify the TD version of a document.
const (
	ContextV10 = "https://www.w3.org/2019/wot/td/v1"
	ContextV11 = "https://www.w3.org/2022/wot/td/v1.1"
)

// MultiLanguage maps BCP 47 language tags to text.
type MultiLanguage map[string]string

// Thing is a Thing Description: the root object of a TD or Thing Model document.
type Thing struct {
	Context             Context                        `json:"@context"`
	AtType              StringList                     `json:"@type"`
	ID                  string                         `json:"id"`
	Title               string                         `json:"title"`
	Titles              MultiLanguage                  `json:"titles"`
	Description         string                         `json:"description"`
	Descriptions        MultiLanguage                  `json:"descriptions"`
	Version             *VersionInfo                   `json:"version"`
	Created             string                         `json:"created"`
	Modified            string                         `json:"modified"`
	Support             string                         `json:"support"`
	Base                string                         `json:"base"`
	Properties          map[string]*PropertyAffordance `json:"properties"`
	Actions             map[string]*ActionAffordance   `json:"actions"`
	Events              map[string]*EventAffordance    `json:"events"`
	Links               []Link                         `json:"links"`
	Forms               []Form                         `json:"forms"`
	Security            StringList                     `json:"security"`
	SecurityDefinitions map[string]*SecurityScheme     `json:"securityDefinitions"`
	Profile             StringList                     `json:"profile"`
	SchemaDefinitions   map[string]*DataSchema         `json:"schemaDefinitions"`
	URIVariables        map[string]*DataSchema         `json:"uriVariables"`

	// Extra holds members the model does not define (extensions, semantic annotations), verbatim.
	Extra map[string]json.RawMessage `json:"-"`
	meta  meta
}

// VersionInfo is the TD "version" object.
type VersionInfo struct {
	Instance string                     `json:"instance"`
	Model    string                     `json:"model"`
	Extra    map[string]json.RawMessage `json:"-"`
	meta     meta
}

// DataSchema is the TD 1.1 data schema vocabulary (a subset of JSON Schema draft-07).
// Const and Default are nil when absent; a JSON null is kept as the literal null.
type DataSchema struct {
	AtType           StringList             `json:"@type"`
	Title            string                 `json:"title"`
	Titles           MultiLanguage          `json:"titles"`
	Description      string                 `json:"description"`
	Descriptions     MultiLanguage          `json:"descriptions"`
	Type             string                 `json:"type"`
	Const            json.RawMessage        `json:"const"`
	Default          json.RawMessage        `json:"default"`
	Enum             []json.RawMessage      `json:"enum"`
	OneOf            []*DataSchema          `json:"oneOf"`
	Unit             string                 `json:"unit"`
	ReadOnly         *bool                  `json:"readOnly"`
	WriteOnly        *bool                  `json:"writeOnly"`
	Format           string                 `json:"format"`
	Items            *Items                 `json:"items"`
	MinItems         *int                   `json:"minItems"`
	MaxItems         *int                   `json:"maxItems"`
	Properties       map[string]*DataSchema `json:"properties"`
	Required         []string               `json:"required"`
	Minimum          *float64               `json:"minimum"`
	Maximum          *float64               `json:"maximum"`
	ExclusiveMinimum *float64               `json:"exclusiveMinimum"`
	ExclusiveMaximum *float64               `json:"exclusiveMaximum"`
	MultipleOf       *float64               `json:"multipleOf"`
	MinLength        *int                   `json:"minLength"`
	MaxLength        *int                   `json:"maxLength"`
	Pattern          string                 `json:"pattern"`
	ContentEncoding  string                 `json:"contentEncoding"`
	ContentMediaType string                 `json:"contentMediaType"`

	// Extra holds members the model does not define (for example "@type" extensions or JSON Schema
	// keywords outside TD 1.1 such as "additionalProperties"), verbatim.
	Extra map[string]json.RawMessage `json:"-"`
	meta  meta
}

// Items is the "items" member of an array schema: one schema for every element, or one per position.
type Items struct {
	Schema *DataSchema
	Tuple  []*DataSchema
}

// PropertyAffordance is a property: a data schema plus interaction metadata.
// Title, description and @type live in the embedded DataSchema.
type PropertyAffordance struct {
	DataSchema
	Forms        []Form                 `json:"forms"`
	URIVariables map[string]*DataSchema `json:"uriVariables"`
	Observable   *bool                  `json:"observable"`
}

// IsReadOnly reports whether the property is read-only (default false).
func (p *PropertyAffordance) IsReadOnly() bool { return p.ReadOnly != nil && *p.ReadOnly }

// IsWriteOnly reports whether the property is write-only (default false).
func (p *PropertyAffordance) IsWriteOnly() bool { return p.WriteOnly != nil && *p.WriteOnly }

// IsObservable reports whether the property is marked observable (default false).
func (p *PropertyAffordance) IsObservable() bool { return p.Observable != nil && *p.Observable }

// ActionAffordance is an action.
type ActionAffordance struct {
	AtType       StringList             `json:"@type"`
	Title        string                 `json:"title"`
	Titles       MultiLanguage          `json:"titles"`
	Description  string                 `json:"description"`
	Descriptions MultiLanguage          `json:"descriptions"`
	Forms        []Form                 `json:"forms"`
	URIVariables map[string]*DataSchema `json:"uriVariables"`
	Input        *DataSchema            `json:"input"`
	Output       *DataSchema            `json:"output"`
	Safe         *bool                  `json:"safe"`
	Idempotent   *bool                  `json:"idempotent"`
	// Synchronous has no default: nil means the TD does not say.
	Synchronous *bool `json:"synchronous"`

	Extra map[string]json.RawMessage `json:"-"`
	meta  meta
}

// IsSafe reports the action's "safe" flag (default false).
func (a *ActionAffordance) IsSafe() bool { return a.Safe != nil && *a.Safe }

// IsIdempotent reports the action's "idempotent" flag (default false).
func (a *ActionAffordance) IsIdempotent() bool { return a.Idempotent != nil && *a.Idempotent }

// EventAffordance is an event.
type EventAffordance struct {
	AtType       StringList             `json:"@type"`
	Title        string                 `json:"title"`
	Titles       MultiLanguage          `json:"titles"`
	Description  string                 `json:"description"`
	Descriptions MultiLanguage          `json:"descriptions"`
	Forms        []Form                 `json:"forms"`
	URIVariables map[string]*DataSchema `json:"uriVariables"`
	Subscription *DataSchema            `json:"subscription"`
	Data         *DataSchema            `json:"data"`
	DataResponse *DataSchema            `json:"dataResponse"`
	Cancellation *DataSchema            `json:"cancellation"`

	Extra map[string]json.RawMessage `json:"-"`
	meta  meta
}

// Form is a hypermedia control: where and how to perform operations.
type Form struct {
	Href                string                       `json:"href"`
	Op                  StringList                   `json:"op"`
	ContentType         string                       `json:"contentType"`
	ContentCoding       string                       `json:"contentCoding"`
	Subprotocol         string                       `json:"subprotocol"`
	Security            StringList                   `json:"security"`
	Scopes              StringList                   `json:"scopes"`
	Response            *ExpectedResponse            `json:"response"`
	AdditionalResponses []AdditionalExpectedResponse `json:"additionalResponses"`

	// Extra holds binding vocabulary such as "htv:methodName", verbatim.
	Extra map[string]json.RawMessage `json:"-"`
	meta  meta
}

// ExpectedResponse describes the primary response of a form.
type ExpectedResponse struct {
	ContentType string                     `json:"contentType"`
	Extra       map[string]json.RawMessage `json:"-"`
	meta        meta
}

// AdditionalExpectedResponse describes a further possible response of a form.
type AdditionalExpectedResponse struct {
	Success     *bool                      `json:"success"`
	ContentType string                     `json:"contentType"`
	Schema      string                     `json:"schema"`
	Extra       map[string]json.RawMessage `json:"-"`
	meta        meta
}

// Link is a web link from the Thing to another resource.
type Link struct {
	Href         string                     `json:"href"`
	Type         string                     `json:"type"`
	Rel          string                     `json:"rel"`
	Anchor       string                     `json:"anchor"`
	Sizes        string                     `json:"sizes"`
	Hreflang     StringList                 `json:"hreflang"`
	InstanceName string                     `json:"instanceName"`
	Extra        map[string]json.RawMessage `json:"-"`
	meta         meta
}

// SecurityScheme is one entry of securityDefinitions. One struct holds the members of every scheme
// (nosec, auto, combo, basic, digest, apikey, bearer, psk, oauth2); Scheme says which apply.
type SecurityScheme struct {
	Scheme        string        `json:"scheme"`
	AtType        StringList    `json:"@type"`
	Description   string        `json:"description"`
	Descriptions  MultiLanguage `json:"descriptions"`
	Proxy         string        `json:"proxy"`
	In            string        `json:"in"`
	Name          string        `json:"name"`
	Qop           string        `json:"qop"`
	Authorization string        `json:"authorization"`
	Alg           string        `json:"alg"`
	Format        string        `json:"format"`
	Identity      string        `json:"identity"`
	Flow          string        `json:"flow"`
	Token         string        `json:"token"`
	Refresh       string        `json:"refresh"`
	Scopes        StringList    `json:"scopes"`
	OneOf         []string      `json:"oneOf"`
	AllOf         []string      `json:"allOf"`

	Extra map[string]json.RawMessage `json:"-"`
	meta  meta
}

// Security scheme names of TD 1.1.
const (
	SchemeNoSec  = "nosec"
	SchemeAuto   = "auto"
	SchemeCombo  = "combo"
	SchemeBasic  = "basic"
	SchemeDigest = "digest"
	SchemeAPIKey = "apikey"
	SchemeBearer = "bearer"
	SchemePSK    = "psk"
	SchemeOAuth2 = "oauth2"
)
