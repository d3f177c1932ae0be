package td

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"sync"
)

// StringList is a TD member that may be written as one string or as an array of strings
// (@type, op, security, scopes, profile, hreflang). The written shape is remembered by the enclosing
// object, so a parsed document marshals back as it was written.
type StringList []string

// UnmarshalJSON accepts a string or an array of strings.
func (l *StringList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*l = StringList{s}
		return nil
	}
	var a []string
	if err := json.Unmarshal(b, &a); err != nil {
		return fmt.Errorf("want a string or an array of strings")
	}
	if a == nil {
		a = []string{}
	}
	*l = a
	return nil
}

// Contains reports whether s is in the list.
func (l StringList) Contains(s string) bool {
	for _, v := range l {
		if v == s {
			return true
		}
	}
	return false
}

// Context is the @context member: a URI, or an array of URIs and objects (prefix bindings, @language).
type Context []ContextEntry

// ContextEntry is one item of @context: either a URI or an object.
type ContextEntry struct {
	URI string
	Map map[string]json.RawMessage
}

// UnmarshalJSON accepts a string, an object or an array of both.
func (e *ContextEntry) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &e.URI)
	}
	if len(b) > 0 && b[0] == '{' {
		return json.Unmarshal(b, &e.Map)
	}
	return fmt.Errorf("want a URI string or an object")
}

// MarshalJSON writes the URI or the object.
func (e ContextEntry) MarshalJSON() ([]byte, error) {
	if e.Map != nil {
		return json.Marshal(e.Map)
	}
	return json.Marshal(e.URI)
}

// UnmarshalJSON accepts one entry or an array of entries.
func (c *Context) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '[' {
		var raw []json.RawMessage
		if err := json.Unmarshal(b, &raw); err != nil {
			return err
		}
		out := make(Context, len(raw))
		for i, r := range raw {
			if err := out[i].UnmarshalJSON(r); err != nil {
				return wrapPath(strconv.Itoa(i), err)
			}
		}
		*c = out
		return nil
	}
	var e ContextEntry
	if err := e.UnmarshalJSON(b); err != nil {
		return err
	}
	*c = Context{e}
	return nil
}

// URIs returns the string entries of the context.
func (c Context) URIs() []string {
	var out []string
	for _, e := range c {
		if e.Map == nil {
			out = append(out, e.URI)
		}
	}
	return out
}

// Has reports whether uri is one of the context's string entries.
func (c Context) Has(uri string) bool {
	for _, e := range c {
		if e.Map == nil && e.URI == uri {
			return true
		}
	}
	return false
}

// UnmarshalJSON accepts one schema or an array of schemas.
func (it *Items) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '[' {
		var raw []json.RawMessage
		if err := json.Unmarshal(b, &raw); err != nil {
			return err
		}
		it.Tuple = make([]*DataSchema, len(raw))
		for i, r := range raw {
			s := new(DataSchema)
			if err := json.Unmarshal(r, s); err != nil {
				return wrapPath(strconv.Itoa(i), err)
			}
			it.Tuple[i] = s
		}
		return nil
	}
	it.Schema = new(DataSchema)
	return json.Unmarshal(b, it.Schema)
}

// MarshalJSON writes the schema or the array of schemas.
func (it Items) MarshalJSON() ([]byte, error) {
	if it.Tuple != nil {
		return json.Marshal(it.Tuple)
	}
	if it.Schema == nil {
		return []byte("{}"), nil
	}
	return json.Marshal(it.Schema)
}

// meta records how an object was written: which known members were present (so an explicit false or
// "" survives a round trip) and which StringList/Context members were written as a bare string.
type meta struct {
	present uint64
	scalar  uint64
}

// field describes one known member of a model struct.
type field struct {
	name      string
	index     []int
	scalarish bool // StringList or Context: may be written as one string
	rawJSON   bool // json.RawMessage: a JSON null is a value, not an absence
}

type fieldTable struct {
	fields []field
	byName map[string]int
}

var tables sync.Map // reflect.Type → *fieldTable

var (
	typeStringList = reflect.TypeFor[StringList]()
	typeContext    = reflect.TypeFor[Context]()
	typeRaw        = reflect.TypeFor[json.RawMessage]()
)

func tableFor(t reflect.Type) *fieldTable {
	if v, ok := tables.Load(t); ok {
		return v.(*fieldTable)
	}
	ft := &fieldTable{byName: map[string]int{}}
	var walk func(t reflect.Type, prefix []int)
	walk = func(t reflect.Type, prefix []int) {
		for i := range t.NumField() {
			sf := t.Field(i)
			idx := append(append([]int(nil), prefix...), i)
			if sf.Anonymous && sf.Type.Kind() == reflect.Struct {
				walk(sf.Type, idx)
				continue
			}
			tag := sf.Tag.Get("json")
			if !sf.IsExported() || tag == "" || tag == "-" {
				continue
			}
			ft.byName[tag] = len(ft.fields)
			ft.fields = append(ft.fields, field{
				name:      tag,
				index:     idx,
				scalarish: sf.Type == typeStringList || sf.Type == typeContext,
				rawJSON:   sf.Type == typeRaw,
			})
		}
	}
	walk(t, nil)
	if len(ft.fields) > 64 {
		panic("td: model struct has more than 64 members") // a programming error caught by tests
	}
	v, _ := tables.LoadOrStore(t, ft)
	return v.(*fieldTable)
}

// decodeObject decodes the JSON object b into the struct pointed to by v, keeping unknown members in
// *extra and the written shape in *m. Errors carry the path of the offending member.
func decodeObject(b []byte, v any, extra *map[string]json.RawMessage, m *meta) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("want a JSON object")
	}
	if raw == nil {
		return fmt.Errorf("want a JSON object, not null")
	}
	rv := reflect.ValueOf(v).Elem()
	ft := tableFor(rv.Type())
	*m = meta{}
	*extra = nil
	for name, val := range raw {
		i, ok := ft.byName[name]
		isNull := bytes.Equal(bytes.TrimSpace(val), []byte("null"))
		if !ok || (isNull && !ft.fields[i].rawJSON) {
			// Unknown members, and nulls where the model has no way to say "null", are kept verbatim.
			if *extra == nil {
				*extra = map[string]json.RawMessage{}
			}
			(*extra)[name] = val
			continue
		}
		f := &ft.fields[i]
		if err := decodeValue(val, rv.FieldByIndex(f.index)); err != nil {
			return wrapPath(name, err)
		}
		m.present |= 1 << i
		if f.scalarish && len(bytes.TrimSpace(val)) > 0 && bytes.TrimSpace(val)[0] == '"' {
			m.scalar |= 1 << i
		}
	}
	return nil
}

// decodeValue decodes into dst, descending into maps and slices itself so that errors name the key or
// index where they happened.
func decodeValue(b []byte, dst reflect.Value) error {
	if dst.CanAddr() {
		if _, ok := dst.Addr().Interface().(json.Unmarshaler); ok {
			return json.Unmarshal(b, dst.Addr().Interface())
		}
	}
	switch dst.Kind() {
	case reflect.Map:
		if dst.Type().Key().Kind() != reflect.String {
			break
		}
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(b, &raw); err != nil {
			return fmt.Errorf("want a JSON object")
		}
		if raw == nil {
			return nil
		}
		m := reflect.MakeMapWithSize(dst.Type(), len(raw))
		for k, v := range raw {
			elem := reflect.New(dst.Type().Elem()).Elem()
			if err := decodeValue(v, elem); err != nil {
				return wrapPath(k, err)
			}
			m.SetMapIndex(reflect.ValueOf(k).Convert(dst.Type().Key()), elem)
		}
		dst.Set(m)
		return nil
	case reflect.Slice:
		if dst.Type() == typeRaw {
			break
		}
		var raw []json.RawMessage
		if err := json.Unmarshal(b, &raw); err != nil {
			return fmt.Errorf("want a JSON array")
		}
		if raw == nil {
			return nil
		}
		s := reflect.MakeSlice(dst.Type(), len(raw), len(raw))
		for i, v := range raw {
			if err := decodeValue(v, s.Index(i)); err != nil {
				return wrapPath(strconv.Itoa(i), err)
			}
		}
		dst.Set(s)
		return nil
	case reflect.Pointer:
		if dst.Type().Elem().Kind() == reflect.Struct {
			p := reflect.New(dst.Type().Elem())
			if err := decodeValue(b, p.Elem()); err != nil {
				return err
			}
			dst.Set(p)
			return nil
		}
	}
	if err := json.Unmarshal(b, dst.Addr().Interface()); err != nil {
		return typeError(err)
	}
	return nil
}

// typeError turns encoding/json's messages, which name Go types, into ones that name JSON types.
func typeError(err error) error {
	var te *json.UnmarshalTypeError
	if ok := asTypeError(err, &te); ok {
		return fmt.Errorf("want %s, found a JSON %s", jsonKind(te.Type), te.Value)
	}
	return err
}

func asTypeError(err error, target **json.UnmarshalTypeError) bool {
	te, ok := err.(*json.UnmarshalTypeError)
	if ok {
		*target = te
	}
	return ok
}

func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Uint, reflect.Uint64:
		return "an integer"
	case reflect.Float64, reflect.Float32:
		return "a number"
	case reflect.Slice:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return t.String()
}

// encodeObject writes the struct v as a JSON object: known members in declaration order when present
// or non-empty, then the extra members sorted by name.
func encodeObject(v any, extra map[string]json.RawMessage, m meta) ([]byte, error) {
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer {
		rv = rv.Elem()
	}
	ft := tableFor(rv.Type())
	var buf bytes.Buffer
	buf.WriteByte('{')
	first := true
	writeKey := func(k string) {
		if !first {
			buf.WriteByte(',')
		}
		first = false
		kb, _ := json.Marshal(k)
		buf.Write(kb)
		buf.WriteByte(':')
	}
	for i := range ft.fields {
		f := &ft.fields[i]
		fv := rv.FieldByIndex(f.index)
		if m.present&(1<<i) == 0 && isEmpty(fv) {
			continue
		}
		if _, dup := extra[f.name]; dup && isEmpty(fv) {
			continue // a null kept verbatim in extra
		}
		var (
			b   []byte
			err error
		)
		if m.scalar&(1<<i) != 0 {
			b, err = scalarForm(fv)
		}
		if b == nil && err == nil {
			b, err = json.Marshal(fv.Interface())
		}
		if err != nil {
			return nil, wrapPath(f.name, err)
		}
		writeKey(f.name)
		buf.Write(b)
	}
	keys := make([]string, 0, len(extra))
	for k := range extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if i, known := ft.byName[k]; known && !isEmpty(rv.FieldByIndex(ft.fields[i].index)) {
			continue // the model's value wins over a stale extra
		}
		writeKey(k)
		buf.Write(extra[k])
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// scalarForm writes a one-element StringList or Context as a bare string; nil means "use the array".
func scalarForm(v reflect.Value) ([]byte, error) {
	switch x := v.Interface().(type) {
	case StringList:
		if len(x) == 1 {
			return json.Marshal(x[0])
		}
	case Context:
		if len(x) == 1 && x[0].Map == nil {
			return json.Marshal(x[0].URI)
		}
	}
	return nil, nil
}

func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.String:
		return v.Len() == 0
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface:
		return v.IsNil()
	}
	return v.IsZero()
}

// The model types decode and encode through decodeObject and encodeObject. Each needs its own methods:
// PropertyAffordance would otherwise inherit DataSchema's and drop its forms.

func (t *Thing) UnmarshalJSON(b []byte) error { return decodeObject(b, t, &t.Extra, &t.meta) }
func (t Thing) MarshalJSON() ([]byte, error)  { return encodeObject(&t, t.Extra, t.meta) }

func (v *VersionInfo) UnmarshalJSON(b []byte) error { return decodeObject(b, v, &v.Extra, &v.meta) }
func (v VersionInfo) MarshalJSON() ([]byte, error)  { return encodeObject(&v, v.Extra, v.meta) }

func (s *DataSchema) UnmarshalJSON(b []byte) error { return decodeObject(b, s, &s.Extra, &s.meta) }
func (s DataSchema) MarshalJSON() ([]byte, error)  { return encodeObject(&s, s.Extra, s.meta) }

func (p *PropertyAffordance) UnmarshalJSON(b []byte) error {
	return decodeObject(b, p, &p.Extra, &p.meta)
}
func (p PropertyAffordance) MarshalJSON() ([]byte, error) { return encodeObject(&p, p.Extra, p.meta) }

func (a *ActionAffordance) UnmarshalJSON(b []byte) error {
	return decodeObject(b, a, &a.Extra, &a.meta)
}
func (a ActionAffordance) MarshalJSON() ([]byte, error) { return encodeObject(&a, a.Extra, a.meta) }

func (e *EventAffordance) UnmarshalJSON(b []byte) error { return decodeObject(b, e, &e.Extra, &e.meta) }
func (e EventAffordance) MarshalJSON() ([]byte, error)  { return encodeObject(&e, e.Extra, e.meta) }

func (f *Form) UnmarshalJSON(b []byte) error { return decodeObject(b, f, &f.Extra, &f.meta) }
func (f Form) MarshalJSON() ([]byte, error)  { return encodeObject(&f, f.Extra, f.meta) }

func (r *ExpectedResponse) UnmarshalJSON(b []byte) error {
	return decodeObject(b, r, &r.Extra, &r.meta)
}
func (r ExpectedResponse) MarshalJSON() ([]byte, error) { return encodeObject(&r, r.Extra, r.meta) }

func (r *AdditionalExpectedResponse) UnmarshalJSON(b []byte) error {
	return decodeObject(b, r, &r.Extra, &r.meta)
}
func (r AdditionalExpectedResponse) MarshalJSON() ([]byte, error) {
	return encodeObject(&r, r.Extra, r.meta)
}

func (l *Link) UnmarshalJSON(b []byte) error { return decodeObject(b, l, &l.Extra, &l.meta) }
func (l Link) MarshalJSON() ([]byte, error)  { return encodeObject(&l, l.Extra, l.meta) }

func (s *SecurityScheme) UnmarshalJSON(b []byte) error { return decodeObject(b, s, &s.Extra, &s.meta) }
func (s SecurityScheme) MarshalJSON() ([]byte, error)  { return encodeObject(&s, s.Extra, s.meta) }
