package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// runDiff regenerates in memory and compares with what is on disk: exit 0 when current, 1 with a
// unified diff on stdout when any generated file is stale or missing (for CI).
func runDiff(ctx context.Context, args []string, s stdio) int {
	g, code, ok := parseGenFlags("diff", args, s)
	if !ok {
		return code
	}
	files, err := generateFiles(ctx, "diff", g, s)
	if err != nil {
		fmt.Fprintf(s.err, "wotgen diff: %v\n", err)
		return failCode(err)
	}
	stale := 0
	for _, f := range files {
		path := filepath.Join(g.out, f.Name)
		old, err := os.ReadFile(path)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(s.err, "wotgen diff: %v\n", err)
			return exitFindings
		}
		if string(old) == string(f.Content) {
			continue
		}
		stale++
		name := strings.TrimPrefix(filepath.ToSlash(path), "/")
		from := "a/" + name
		if old == nil {
			from = "/dev/null"
		}
		writeUnified(s.out, from, "b/"+name, string(old), string(f.Content))
	}
	if stale > 0 {
		fmt.Fprintf(s.err, "wotgen diff: %d generated file(s) in %s are out of date; run: wotgen generate %s\n", stale, filepath.ToSlash(g.out), strings.Join(args, " "))
		return exitFindings
	}
	return exitOK
}

// writeUnified writes a unified diff (3 lines of context) of a → b.
func writeUnified(w io.Writer, nameA, nameB, a, b string) {
	la, lb := splitLines(a), splitLines(b)
	edits := diffLines(la, lb)
	fmt.Fprintf(w, "--- %s\n+++ %s\n", nameA, nameB)
	const ctxLines = 3
	// Group edits into hunks: runs of changes separated by at most 2*ctxLines equal lines.
	i := 0
	for i < len(edits) {
		if edits[i].op == ' ' {
			i++
			continue
		}
		start := max(i-ctxLines, 0)
		end := i
		for j := i; j < len(edits); j++ {
			if edits[j].op != ' ' {
				end = j
				continue
			}
			if j-end > 2*ctxLines {
				break
			}
		}
		stop := min(end+ctxLines+1, len(edits))
		hunk := edits[start:stop]
		aStart, bStart := edits[start].a, edits[start].b
		aLen, bLen := 0, 0
		for _, e := range hunk {
			if e.op != '+' {
				aLen++
			}
			if e.op != '-' {
				bLen++
			}
		}
		fmt.Fprintf(w, "@@ -%s +%s @@\n", hunkRange(aStart, aLen), hunkRange(bStart, bLen))
		for _, e := range hunk {
			line := e.text
			fmt.Fprintf(w, "%c%s", e.op, line)
			if !strings.HasSuffix(line, "\n") {
				fmt.Fprint(w, "\n\\ No newline at end of file\n")
			}
		}
		i = stop
	}
}

func hunkRange(start, n int) string {
	if n == 0 {
		return fmt.Sprintf("%d,0", start)
	}
	if n == 1 {
		return fmt.Sprintf("%d", start+1)
	}
	return fmt.Sprintf("%d,%d", start+1, n)
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// edit is one line of the diff: ' ' equal, '-' only in a, '+' only in b; a and b are the 0-based
// line indexes where the line sits (or would sit) in each side.
type edit struct {
	op   byte
	text string
	a, b int
}

// diffLines computes a shortest edit script with Myers' O(ND) algorithm. Beyond maxD differences it
// gives up on minimality and reports the rest as replaced, which bounds time and memory for huge
// unrelated files.
func diffLines(a, b []string) []edit {
	// Common prefix and suffix make the usual "a few lines changed" case cheap.
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	var out []edit
	for i := 0; i < pre; i++ {
		out = append(out, edit{' ', a[i], i, i})
	}
	out = append(out, myers(a[pre:len(a)-suf], b[pre:len(b)-suf], pre, pre)...)
	for i := 0; i < suf; i++ {
		ia, ib := len(a)-suf+i, len(b)-suf+i
		out = append(out, edit{' ', a[ia], ia, ib})
	}
	return out
}

const maxD = 2000

func myers(a, b []string, offA, offB int) []edit {
	n, m := len(a), len(b)
	replaceAll := func() []edit {
		var out []edit
		for i, l := range a {
			out = append(out, edit{'-', l, offA + i, offB})
		}
		for j, l := range b {
			out = append(out, edit{'+', l, offA + n, offB + j})
		}
		return out
	}
	if n == 0 || m == 0 {
		return replaceAll()
	}
	limit := min(n+m, maxD)
	v := make([]int, 2*limit+2)
	var trace [][]int
	found := false
	for d := 0; d <= limit && !found; d++ {
		snap := make([]int, len(v))
		copy(snap, v)
		trace = append(trace, snap)
		for k := -d; k <= d; k += 2 {
			var x int
			if k == -d || (k != d && v[limit+k-1] < v[limit+k+1]) {
				x = v[limit+k+1]
			} else {
				x = v[limit+k-1] + 1
			}
			y := x - k
			for x < n && y < m && a[x] == b[y] {
				x++
				y++
			}
			v[limit+k] = x
			if x >= n && y >= m {
				found = true
				break
			}
		}
	}
	if !found {
		return replaceAll()
	}
	// Backtrack through the saved frontiers.
	var rev []edit
	x, y := n, m
	for d := len(trace) - 1; d >= 0; d-- {
		vd := trace[d]
		k := x - y
		var prevK int
		if k == -d || (k != d && vd[limit+k-1] < vd[limit+k+1]) {
			prevK = k + 1
		} else {
			prevK = k - 1
		}
		prevX := vd[limit+prevK]
		prevY := prevX - prevK
		for x > prevX && y > prevY {
			x--
			y--
			rev = append(rev, edit{' ', a[x], offA + x, offB + y})
		}
		if d == 0 {
			break
		}
		if x == prevX {
			y--
			rev = append(rev, edit{'+', b[y], offA + x, offB + y})
		} else {
			x--
			rev = append(rev, edit{'-', a[x], offA + x, offB + y})
		}
	}
	out := make([]edit, len(rev))
	for i, e := range rev {
		out[len(rev)-1-i] = e
	}
	return out
}
