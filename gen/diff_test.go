package gen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/wotgen/wotgen/gen/ir"
	"github.com/wotgen/wotgen/internal/testcorpus"
	"github.com/wotgen/wotgen/runtime/td"
)

// Differential testing: for each schema (from the golden TDs and a sample of the corpus) a package is
// generated with the schema as the value of property "v"; a checker program (built once, in the shared
// module) decodes each value into the generated Go type and calls Validate; the verdicts must equal
// jsonschema/v5's on the same DataSchema (TD keywords only: TD processors give other JSON Schema
// keywords no meaning,
// https://www.w3.org/TR/wot-thing-description11/#sec-data-schema-vocabulary-definition).
//
// Documented leniencies, kept out of the generated values: a JSON null at the root (the typed API takes
// nil pointers for that) or as an element of an array whose items cannot be null (encoding/json decodes it
// as the zero value), integers written with a fraction or exponent (integers have neither,
// https://www.w3.org/TR/wot-thing-description11/#td-basic-types-mapping), and member names
// differing only in case (encoding/json matches them case-insensitively).

const maxDiffCases = 400

type diffCase struct {
	id      string
	source  string
	schema  *td.DataSchema
	goType  string // Go type expression in the checker
	imports map[string]bool
	skip    string // why the case is not compared (inexact mapping)
}

// diffCases collects schemas: every affordance schema of the golden TDs, then corpus schemas.
func diffCases(root string) []*diffCase {
	var schemas []*td.DataSchema
	var sources []string
	seen := map[string]bool{}
	add := func(src string, s *td.DataSchema) {
		if s == nil {
			return
		}
		b, _ := json.Marshal(stripExtra(s))
		if seen[string(b)] {
			return
		}
		seen[string(b)] = true
		schemas = append(schemas, s)
		sources = append(sources, src)
	}
	collect := func(file string) {
		input, err := os.ReadFile(file)
		if err != nil {
			return
		}
		t, err := td.Parse(input)
		if err != nil {
			return
		}
		name := filepath.Base(filepath.Dir(file)) + "/" + filepath.Base(file)
		for _, n := range t.PropertyNames() {
			s := t.Properties[n].DataSchema
			s.ReadOnly, s.WriteOnly = nil, nil
			add(name+" property "+n, &s)
		}
		for _, n := range t.ActionNames() {
			add(name+" action "+n+" input", t.Actions[n].Input)
			add(name+" action "+n+" output", t.Actions[n].Output)
		}
		for _, n := range t.EventNames() {
			add(name+" event "+n+" data", t.Events[n].Data)
		}
	}
	goldens, _ := filepath.Glob(filepath.Join(root, "testdata", "*", "thing.td.json"))
	sort.Strings(goldens)
	for _, g := range goldens {
		collect(g)
	}
	if c := testcorpus.Root(); c != "" {
		files, _ := filepath.Glob(filepath.Join(c, "corpus", "td", "valid", "*.json"))
		sort.Strings(files)
		for _, f := range files {
			collect(f)
		}
	}
	if len(schemas) > maxDiffCases {
		schemas, sources = schemas[:maxDiffCases], sources[:maxDiffCases]
	}
	var cases []*diffCase
	for i, s := range schemas {
		cases = append(cases, &diffCase{id: fmt.Sprintf("d%03d", i), source: sources[i], schema: s})
	}
	return cases
}

// stripExtra returns a deep copy of s without members outside the TD vocabulary.
func stripExtra(s *td.DataSchema) *td.DataSchema {
	if s == nil {
		return nil
	}
	c := *s
	c.Extra = nil
	c.AtType = nil
	// contentEncoding/contentMediaType are documentation in the generated types (not checked)
	c.ContentEncoding, c.ContentMediaType = "", ""
	f := false
	if c.ReadOnly == nil {
		c.ReadOnly = &f
	}
	if c.WriteOnly == nil {
		c.WriteOnly = &f
	}
	c.OneOf = nil
	for _, a := range s.OneOf {
		c.OneOf = append(c.OneOf, stripExtra(a))
	}
	if s.Properties != nil {
		c.Properties = map[string]*td.DataSchema{}
		for k, v := range s.Properties {
			c.Properties[k] = stripExtra(v)
		}
	}
	if s.Items != nil {
		c.Items = &td.Items{Schema: stripExtra(s.Items.Schema)}
		for _, it := range s.Items.Tuple {
			c.Items.Tuple = append(c.Items.Tuple, stripExtra(it))
		}
	}
	return &c
}

// writeDiffPackages generates ONE package holding every case (property "vNNN" per schema, so its
// types build in one compile) and the checker's main.go.
func writeDiffPackages(cases []*diffCase, write func(string, []byte), main *bytes.Buffer) error {
	const pkg = "diffpkg"
	props := map[string]any{}
	for _, c := range cases {
		sch, _ := json.Marshal(stripExtra(c.schema))
		var prop map[string]any
		_ = json.Unmarshal(sch, &prop)
		prop["forms"] = []any{map[string]any{"href": "wtp"}}
		props[c.id] = prop
	}
	input, _ := json.Marshal(map[string]any{
		"@context": td.ContextV11, "title": "D", "securityDefinitions": map[string]any{"nosec": map[string]any{"scheme": "nosec"}},
		"security": "nosec", "properties": props,
	})
	th, err := td.Parse(input)
	if err != nil {
		return fmt.Errorf("differential TD: %v", err)
	}
	p, err := Build(th, Options{Package: pkg})
	if err != nil {
		return err
	}
	byName := map[string]*ir.Property{}
	for _, ip := range p.Thing.Properties {
		byName[ip.Name] = ip
	}
	imports := map[string]bool{tempModule + "/diff/" + pkg: true}
	for _, c := range cases {
		ip := byName[c.id]
		if ip == nil {
			c.skip = "no property"
			continue
		}
		c.imports = map[string]bool{}
		c.goType = goTypeOf(ip.Type, pkg, c.imports)
		if reason := inexact(ip.Type); reason != "" {
			c.skip = reason
		}
		for k := range c.imports {
			imports[k] = true
		}
	}
	files, err := Generate(context.Background(), input, Options{Package: pkg})
	if err != nil {
		return err
	}
	for _, f := range files {
		write("diff/"+pkg+"/"+f.Name, f.Content)
	}
	imports["bufio"], imports["encoding/json"], imports["fmt"], imports["os"], imports["reflect"], imports["strings"] = true, true, true, true, true, true
	main.WriteString("// Command diffcheck prints the verdict of the generated types for each input line \"<case>\\t<json>\".\npackage main\n\nimport (\n")
	var paths []string
	for k := range imports {
		paths = append(paths, k)
	}
	sort.Strings(paths)
	for _, p := range paths {
		fmt.Fprintf(main, "\t%q\n", p)
	}
	main.WriteString(`)

func check[T any](data []byte) string {
	var v T
	if err := json.Unmarshal(data, &v); err != nil {
		return "invalid: decode: " + err.Error()
	}
	if val, ok := any(v).(interface{ Validate() error }); ok {
		if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && rv.IsNil() {
			return "valid"
		}
		if err := val.Validate(); err != nil {
			return "invalid: validate: " + err.Error()
		}
	}
	return "valid"
}

var checks = map[string]func([]byte) string{
`)
	for _, c := range cases {
		if c.goType != "" {
			fmt.Fprintf(main, "\t%q: check[%s],\n", c.id, c.goType)
		}
	}
	main.WriteString(`}

func main() {
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	for sc.Scan() {
		id, data, _ := strings.Cut(sc.Text(), "\t")
		fmt.Fprintln(w, strings.ReplaceAll(checks[id]([]byte(data)), "\n", " "))
	}
}
`)
	return nil
}

// goTypeOf renders ref for the checker program.
func goTypeOf(r *ir.TypeRef, pkg string, imports map[string]bool) string {
	switch r.Kind {
	case ir.RefNamed:
		return pkg + "." + r.Name
	case ir.RefQual:
		imports[r.Path] = true
		return r.String()
	case ir.RefSlice:
		return "[]" + goTypeOf(r.Elem, pkg, imports)
	case ir.RefMap:
		return "map[string]" + goTypeOf(r.Elem, pkg, imports)
	case ir.RefPointer:
		return "*" + goTypeOf(r.Elem, pkg, imports)
	case ir.RefEmptyStruct:
		return "struct{}"
	}
	return r.Name
}

// inexact reports why a type is not an exact mapping of its schema ("" = exact).
func inexact(r *ir.TypeRef) string {
	for r.Kind == ir.RefPointer || r.Kind == ir.RefSlice || r.Kind == ir.RefMap {
		r = r.Elem
	}
	if r.Kind == ir.RefNamed && r.Decl != nil {
		return r.Decl.Inexact
	}
	return ""
}

// TestDifferential compares generated decoding + Validate with jsonschema/v5 on generated values.
func TestDifferential(t *testing.T) {
	b := sharedModule(t)
	if b.buildErr != "" {
		t.Fatalf("generated packages do not build:\n%s", b.buildErr)
	}
	for name, f := range jsonschema.Formats {
		if name != "date-time" {
			jsonschema.Formats[name] = func(any) bool { return true } // TD: formats other than date-time are not checked
		}
		_ = f
	}
	var lines bytes.Buffer
	type probe struct {
		c     *diffCase
		value string
		want  bool
		why   string
	}
	var probes []probe
	skipped := map[string]int{}
	compared := 0
	for _, c := range b.diff {
		if c.skip != "" || c.goType == "" {
			skipped[c.skip]++
			continue
		}
		compared++
		sch, _ := json.Marshal(stripExtra(c.schema))
		comp := jsonschema.NewCompiler()
		comp.Draft = jsonschema.Draft7
		if err := comp.AddResource("s.json", bytes.NewReader(sch)); err != nil {
			t.Fatalf("%s: %v", c.id, err)
		}
		s, err := comp.Compile("s.json")
		if err != nil {
			skipped["jsonschema cannot compile: "+err.Error()]++
			continue
		}
		r := rand.New(rand.NewSource(int64(len(probes)) + 1))
		g := &valueGen{r: r}
		vals := map[string]bool{}
		for range 60 {
			v := g.value(c.schema, 0)
			if v == "null" || vals[v] {
				continue
			}
			vals[v] = true
			var doc any
			dec := json.NewDecoder(strings.NewReader(v))
			dec.UseNumber()
			if err := dec.Decode(&doc); err != nil {
				t.Fatalf("generated invalid JSON %s: %v", v, err)
			}
			err := s.Validate(doc)
			why := ""
			if err != nil {
				why = err.Error()
			}
			probes = append(probes, probe{c: c, value: v, want: err == nil, why: why})
			lines.WriteString(c.id + "\t" + v + "\n")
		}
	}
	cmd := exec.Command(b.diffBin)
	cmd.Stdin = &lines
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("diffcheck: %v", err)
	}
	verdicts := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(verdicts) != len(probes) {
		t.Fatalf("diffcheck printed %d verdicts for %d values", len(verdicts), len(probes))
	}
	mismatches := 0
	valid := 0
	for i, p := range probes {
		got := verdicts[i] == "valid"
		if p.want {
			valid++
		}
		if got != p.want {
			mismatches++
			if mismatches <= 25 {
				t.Errorf("%s (%s)\n  value %s\n  generated: %s\n  jsonschema: valid=%v %s", p.c.id, p.c.source, p.value, verdicts[i], p.want, firstLine(p.why))
			}
		}
	}
	if mismatches > 25 {
		t.Errorf("… %d mismatches in all", mismatches)
	}
	var skips []string
	for k, v := range skipped {
		skips = append(skips, fmt.Sprintf("%d× %s", v, k))
	}
	sort.Strings(skips)
	t.Logf("differential: %d values (%d valid) over %d schemas; %d schemas skipped as documented-inexact: %s",
		len(probes), valid, compared, len(b.diff)-compared, strings.Join(skips, "; "))
	if len(probes) < 2000 {
		t.Errorf("only %d values were compared; want thousands", len(probes))
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// valueGen produces JSON values near a schema: mostly plausible, often just outside the constraints,
// sometimes of the wrong type.
type valueGen struct{ r *rand.Rand }

var wrongTypes = []string{`"x"`, `1`, `true`, `{}`, `[]`, `2.5`, `-7`, `""`}

func (g *valueGen) value(s *td.DataSchema, depth int) string {
	if s == nil {
		return wrongTypes[g.r.Intn(len(wrongTypes))]
	}
	if g.r.Intn(15) == 0 || depth > 10 {
		return wrongTypes[g.r.Intn(len(wrongTypes))]
	}
	if s.Const != nil && g.r.Intn(2) == 0 {
		return string(s.Const)
	}
	if len(s.Enum) > 0 && g.r.Intn(4) != 0 {
		return string(s.Enum[g.r.Intn(len(s.Enum))])
	}
	if len(s.OneOf) > 0 {
		return g.value(s.OneOf[g.r.Intn(len(s.OneOf))], depth+1)
	}
	typ := s.Type
	if typ == "" {
		switch {
		case s.Properties != nil:
			typ = "object"
		case s.Items != nil:
			typ = "array"
		default:
			typ = []string{"string", "integer", "number", "boolean", "object", "array"}[g.r.Intn(6)]
		}
	}
	switch typ {
	case "boolean":
		return strconv.FormatBool(g.r.Intn(2) == 0)
	case "null":
		return "null"
	case "integer":
		return g.integer(s)
	case "number":
		return g.number(s)
	case "string":
		return g.str(s)
	case "array":
		return g.array(s, depth)
	case "object":
		return g.object(s, depth)
	}
	return wrongTypes[g.r.Intn(len(wrongTypes))]
}

func (g *valueGen) bounds(s *td.DataSchema) []float64 {
	var out []float64
	for _, b := range []*float64{s.Minimum, s.Maximum, s.ExclusiveMinimum, s.ExclusiveMaximum} {
		if b != nil {
			out = append(out, *b)
		}
	}
	return out
}

func (g *valueGen) integer(s *td.DataSchema) string {
	cands := []int64{0, 1, -1, int64(g.r.Intn(2001) - 1000)}
	for _, b := range g.bounds(s) {
		f := math.Floor(b)
		if math.Abs(f) > 1e15 {
			continue
		}
		cands = append(cands, int64(f)-1, int64(f), int64(f)+1, int64(math.Ceil(b)))
	}
	if m := s.MultipleOf; m != nil && *m >= 1 && *m < 1e9 {
		k := int64(g.r.Intn(21) - 10)
		cands = append(cands, k*int64(*m), k*int64(*m)+1)
	}
	return strconv.FormatInt(cands[g.r.Intn(len(cands))], 10)
}

func (g *valueGen) number(s *td.DataSchema) string {
	cands := []string{"0", "1", "-1", "0.5", strconv.FormatFloat(g.r.Float64()*2000-1000, 'f', 3, 64), "1e30"}
	for _, b := range g.bounds(s) {
		cands = append(cands, fmtNum(b), fmtNum(b-1), fmtNum(b+1), fmtNum(b+0.25), fmtNum(b-0.25))
	}
	if m := s.MultipleOf; m != nil && *m > 0 {
		// exact decimal multiples (and near misses), as JSON Schema compares decimals
		mr, ok := new(big.Rat).SetString(strconv.FormatFloat(*m, 'f', -1, 64))
		if ok {
			k := big.NewRat(int64(g.r.Intn(41)-20), 1)
			v := new(big.Rat).Mul(mr, k)
			cands = append(cands, v.FloatString(decimals(*m)))
			v.Add(v, new(big.Rat).Quo(mr, big.NewRat(3, 1)))
			cands = append(cands, v.FloatString(decimals(*m)+2))
		}
	}
	return cands[g.r.Intn(len(cands))]
}

func decimals(f float64) int {
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if _, frac, ok := strings.Cut(s, "."); ok {
		return len(frac)
	}
	return 0
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

var runePool = []rune("abcXYZ019 -_.é漢😀")

func (g *valueGen) str(s *td.DataSchema) string {
	if s.Format == "date-time" && g.r.Intn(3) != 0 {
		return strconv.Quote([]string{"2024-01-02T03:04:05Z", "2024-01-02T03:04:05.123+02:00", "2024-13-02T03:04:05Z",
			"yesterday", "2024-01-02", "2024-01-02T03:04:05"}[g.r.Intn(6)])
	}
	pool := runePool
	if s.Pattern != "" {
		for _, r := range s.Pattern {
			if r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == ':' || r == '.') {
				pool = append(pool, r, r, r)
			}
		}
	}
	n := g.r.Intn(8)
	for _, b := range []*int{s.MinLength, s.MaxLength} {
		if b != nil && g.r.Intn(2) == 0 {
			n = *b + g.r.Intn(3) - 1
		}
	}
	if n < 0 {
		n = 0
	}
	if n > 300 {
		n = 300
	}
	var sb strings.Builder
	for range n {
		sb.WriteRune(pool[g.r.Intn(len(pool))])
	}
	b, _ := json.Marshal(sb.String())
	return string(b)
}

func (g *valueGen) array(s *td.DataSchema, depth int) string {
	n := g.r.Intn(4)
	for _, b := range []*int{s.MinItems, s.MaxItems} {
		if b != nil && g.r.Intn(2) == 0 {
			n = *b + g.r.Intn(3) - 1
		}
	}
	if n < 0 {
		n = 0
	}
	if n > 20 {
		n = 20
	}
	var items []string
	for i := range n {
		var is *td.DataSchema
		if s.Items != nil {
			is = s.Items.Schema
			if len(s.Items.Tuple) > 0 {
				is = s.Items.Tuple[i%len(s.Items.Tuple)]
			}
		}
		v := g.value(is, depth+1)
		if v == "null" {
			v = "1"
		}
		items = append(items, v)
	}
	return "[" + strings.Join(items, ",") + "]"
}

func (g *valueGen) object(s *td.DataSchema, depth int) string {
	required := map[string]bool{}
	for _, r := range s.Required {
		required[r] = true
	}
	var names []string
	for k := range s.Properties {
		names = append(names, k)
	}
	sort.Strings(names)
	var members []string
	lower := map[string]bool{}
	for _, n := range names {
		p := 2
		if required[n] {
			p = 12
		}
		if g.r.Intn(p+1) == 0 {
			continue
		}
		if lower[strings.ToLower(n)] {
			continue
		}
		lower[strings.ToLower(n)] = true
		k, _ := json.Marshal(n)
		v := g.value(s.Properties[n], depth+1)
		if g.r.Intn(25) == 0 {
			v = "null"
		}
		members = append(members, string(k)+":"+v)
	}
	if g.r.Intn(6) == 0 && !lower["zzextra"] {
		members = append(members, `"zzextra":[1,{"a":null}]`)
	}
	return "{" + strings.Join(members, ",") + "}"
}
