package validate

import (
	"bufio"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/wotgen/wotgen/internal/testcorpus"
)

type manifestRow struct {
	file, upstream, notes, playground, ajv string
}

func readManifest(t testing.TB) map[string]manifestRow {
	t.Helper()
	f, err := os.Open(filepath.Join(testcorpus.Dir(t), "manifest.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows := map[string]manifestRow{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for first := true; sc.Scan(); first = false {
		if first {
			continue
		}
		c := strings.Split(sc.Text(), "\t")
		if len(c) < 8 {
			continue
		}
		rows[c[0]] = manifestRow{c[0], c[4], c[5], c[6], c[7]}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// Where the playground and we differ, the reasons are:
//   - we differ from both oracles: the files in justified (agreement_test.go), each with its reason;
//   - the official 2025 schema rejects the file (response.contentType, non-empty op arrays) while the
//     playground bundles a 2022 copy that does not: we follow the official schema;
//   - multiLangConsistency: TD 1.1 makes consistent languages a SHOULD, so TD044 is a warning;
//   - an identical duplicated member is a TD002 warning, not an error, as no reader loses anything.
var playgroundOnly = map[string]string{
	"td/invalid/playground__duplicateSecurityDefinitions.json": "TD002 warning: the duplicated security definition is identical",
}

// TestManifestVerdicts compares our verdicts with the manifest's two oracles (ajv with the official
// schema, and the playground) and the upstream labels, and reports the numbers.
func TestManifestVerdicts(t *testing.T) {
	rows := readManifest(t)
	vs := map[Kind]*Validator{KindTD: mustNew(t, Options{Kind: KindTD}), KindTM: mustNew(t, Options{Kind: KindTM})}
	var ajvAgree, ajvDiffer, pgAgree, pgDiffer int
	var unexplained []string
	for _, f := range corpusFiles(t) {
		row, ok := rows[f.rel]
		if !ok {
			t.Errorf("%s is not in manifest.tsv", f.rel)
			continue
		}
		data, err := os.ReadFile(f.path)
		if err != nil {
			t.Fatal(err)
		}
		res := vs[f.kind].Validate(f.rel, data)
		ajvValid := row.ajv == "valid"
		pgValid := strings.HasPrefix(row.playground, "valid")
		if res.Valid == ajvValid {
			ajvAgree++
		} else {
			ajvDiffer++
			if _, ok := justified[f.rel]; !ok {
				unexplained = append(unexplained, f.rel+": ajv "+row.ajv+", ours valid="+boolStr(res.Valid))
			}
		}
		if res.Valid == pgValid {
			pgAgree++
			continue
		}
		pgDiffer++
		if _, ok := justified[f.rel]; ok {
			continue // we differ from both oracles, for the listed reason
		}
		if !res.Valid {
			if !ajvValid {
				continue // the official schema rejects it; the playground's older schema does not
			}
		} else {
			if playgroundOnly[f.rel] != "" || strings.Contains(row.playground, "multiLangConsistency") {
				continue
			}
		}
		unexplained = append(unexplained, f.rel+": playground "+row.playground+", ours valid="+boolStr(res.Valid)+" ("+row.notes+")")
	}
	sort.Strings(unexplained)
	for _, u := range unexplained {
		t.Errorf("unexplained verdict difference: %s", u)
	}
	t.Logf("manifest: ajv/official schema %d agree, %d differ; playground %d agree, %d differ", ajvAgree, ajvDiffer, pgAgree, pgDiffer)
}
