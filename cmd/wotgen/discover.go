package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/wotgen/wotgen/runtime/discovery"
)

func init() {
	register(command{name: "discover", summary: "find Things on the local network (DNS-SD), at URLs and in Thing Description Directories", run: runDiscover})
}

const discoverSynopsis = `[-mdns] [-dir URL]... [-token T] [-query JSONPATH] [-timeout D] [-format text|json] [URL...]

Each URL is a TD's URL, or a host (http://HOST:PORT) whose /.well-known/wot is fetched; a URL may
serve a JSON array of TDs. -mdns browses the local link for _wot._tcp services (WoT Discovery,
https://www.w3.org/TR/wot-discovery/#introduction-dns-sd-sec). -dir lists a Thing Description
Directory (its /things, page by page); -token is the bearer token for the directories given with
-dir, and only for them. Directories found through -mdns or a URL are listed too, and the TD a
Thing Link points at is fetched. Each Thing is printed once (by id) with its title, id, the
URL its TD can be fetched from, and how it was found.

Exit status: 0 when at least one Thing was found and every URL and directory given could be read
(problems with devices found through -mdns are warnings), 1 otherwise, 2 for a usage error.`

// discovered is one line of output.
type discovered struct {
	Title  string `json:"title"`
	ID     string `json:"id,omitempty"`
	URL    string `json:"url"`
	Source string `json:"source"`
	Via    string `json:"via"`
	Type   string `json:"type"` // Thing, Directory or ThingLink
}

func runDiscover(ctx context.Context, args []string, s stdio) int {
	fs := newFlagSet("discover", discoverSynopsis, s)
	mdns := fs.Bool("mdns", false, "browse the local network with DNS-SD/mDNS")
	var dirs []string
	fs.Func("dir", "list the Thing Description Directory at this base `URL` (repeatable)", func(v string) error {
		dirs = append(dirs, v)
		return nil
	})
	token := fs.String("token", "", "bearer `token` for the directories given with -dir, for those whose reads need one (default $WOTGEN_DISCOVER_TOKEN, which keeps it out of process lists); never sent elsewhere")
	query := fs.String("query", "", "JSONPath (RFC 9535) `query` for the directories, selecting whole TDs, e.g. $[?(@.title=='Lamp')]")
	timeout := fs.Duration("timeout", 3*time.Second, "how long to look (DNS-SD answers keep coming; URLs and directories also stop at this)")
	format := fs.String("format", "text", "output `format`: text (a table) or json (an array)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if *format != "text" && *format != "json" {
		fmt.Fprintf(s.err, "wotgen discover: unknown -format %q: use text or json\n", *format)
		return exitUsage
	}
	if *timeout <= 0 {
		fmt.Fprintln(s.err, "wotgen discover: -timeout must be positive")
		return exitUsage
	}
	if !*mdns && len(dirs) == 0 && fs.NArg() == 0 {
		fmt.Fprintln(s.err, "wotgen discover: nothing to look at: give -mdns, -dir URL or a URL")
		fs.Usage()
		return exitUsage
	}
	for _, u := range fs.Args() {
		if _, err := discovery.WellKnownURL(u); err != nil {
			fmt.Fprintf(s.err, "wotgen discover: %v\n", err)
			return exitUsage
		}
	}

	if *token == "" {
		*token = os.Getenv("WOTGEN_DISCOVER_TOKEN")
	}
	f := discovery.Filter{MDNS: *mdns, URLs: fs.Args(), Query: *query, Timeout: *timeout}
	if *token == "" {
		f.Directories = dirs
	} else {
		for _, u := range dirs {
			d, err := discovery.NewDirectory(u, discovery.WithDirectoryBearerToken(*token))
			if err != nil {
				fmt.Fprintf(s.err, "wotgen discover: -dir: %v\n", err)
				return exitUsage
			}
			f.DirectoryClients = append(f.DirectoryClients, d)
		}
	}
	var found []discovered
	failed := false
	for r, err := range discovery.Discover(ctx, f) {
		if err != nil {
			var de *discovery.Error
			if errors.As(err, &de) && de.Source == discovery.SourceMDNS {
				fmt.Fprintf(s.err, "wotgen discover: warning: %v\n", err)
				continue
			}
			failed = true
			fmt.Fprintf(s.err, "wotgen discover: %v\n", err)
			continue
		}
		typ := "Thing"
		switch {
		case discovery.IsDirectory(r.Thing):
			typ = "Directory"
		case discovery.IsThingLink(r.Thing):
			typ = "ThingLink" // the TD it points at is listed too
		}
		found = append(found, discovered{Title: r.Thing.Title, ID: r.Thing.ID, URL: r.URL, Source: string(r.Source), Via: r.Via, Type: typ})
	}

	switch *format {
	case "json":
		if found == nil {
			found = []discovered{}
		}
		enc := json.NewEncoder(s.out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(found); err != nil {
			fmt.Fprintf(s.err, "wotgen discover: %v\n", err)
			return exitFindings
		}
	default:
		if len(found) > 0 {
			tw := tabwriter.NewWriter(s.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TITLE\tID\tTD URL\tSOURCE")
			for _, d := range found {
				src := d.Source
				switch d.Type {
				case "Directory":
					src += " (directory)"
				case "ThingLink":
					src += " (link)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", oneLine(d.Title), orDash(oneLine(d.ID)), d.URL, src)
			}
			tw.Flush()
		}
	}
	if len(found) == 0 {
		fmt.Fprintf(s.err, "wotgen discover: no Thing found within %v\n", *timeout)
		return exitFindings
	}
	if failed {
		return exitFindings
	}
	return exitOK
}

// oneLine keeps a title from a remote TD on one line of the table.
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }), " ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
