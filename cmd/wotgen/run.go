package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"sort"
	"strings"
)

// Exit codes shared by every subcommand.
const (
	exitOK       = 0 // success
	exitFindings = 1 // findings, failure or drift
	exitUsage    = 2 // usage error or unreadable input
)

// stdio is what a subcommand reads from and writes to; tests pass buffers.
type stdio struct {
	in  io.Reader
	out io.Writer
	err io.Writer
}

// command is one subcommand. run gets the arguments after the subcommand's name.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, io stdio) int
}

var commands = map[string]command{}

// register adds a subcommand; each subcommand's file registers itself in init.
func register(c command) {
	if _, dup := commands[c.name]; dup {
		panic("wotgen: subcommand registered twice: " + c.name)
	}
	commands[c.name] = c
}

func init() {
	register(command{name: "version", summary: "print the wotgen version", run: runVersion})
	register(command{name: "help", summary: "show help for wotgen or a subcommand", run: runHelp})
}

// run is the whole CLI: main only adds os.Exit.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signalContext()
	defer stop()
	return runContext(ctx, args, stdio{in: stdin, out: stdout, err: stderr})
}

func runContext(ctx context.Context, args []string, s stdio) int {
	if len(args) == 0 {
		usage(s.err)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help":
		usage(s.out)
		return exitOK
	case "-version", "--version":
		name = "version"
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(s.err, "wotgen: unknown subcommand %q\n\n", name)
		usage(s.err)
		return exitUsage
	}
	return c.run(ctx, args[1:], s)
}

func usage(w io.Writer) {
	fmt.Fprint(w, "wotgen turns W3C Web of Things Thing Descriptions into typed Go and runs them over the Web Thing Protocol.\n\nUsage:\n\n\twotgen <command> [flags] [arguments]\n\nCommands:\n\n")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "\t%-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprint(w, "\nRun \"wotgen help <command>\" or \"wotgen <command> -h\" for a command's flags.\nExit codes: 0 success, 1 findings or failure, 2 usage error.\n")
}

// newFlagSet returns a FlagSet that writes its usage to s.err and never exits the process.
func newFlagSet(name, synopsis string, s stdio) *flag.FlagSet {
	fs := flag.NewFlagSet("wotgen "+name, flag.ContinueOnError)
	fs.SetOutput(s.err)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: wotgen %s %s\n", name, synopsis)
		if c, ok := commands[name]; ok {
			fmt.Fprintf(fs.Output(), "\n%s.\n", upperFirst(c.summary))
		}
		var hasFlags bool
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprint(fs.Output(), "\nFlags:\n")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parseFlags parses args; ok is false when the command must return code (help → 0, bad flags → 2).
func parseFlags(fs *flag.FlagSet, args []string) (code int, ok bool) {
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return exitOK, false
		}
		return exitUsage, false
	}
	return exitOK, true
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func runVersion(_ context.Context, args []string, s stdio) int {
	fs := newFlagSet("version", "", s)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	fmt.Fprintf(s.out, "wotgen %s\n", version())
	return exitOK
}

// version is the module version from the build info: a tag for "go install …@v1.2.3", "(devel)" for a
// build from a work tree.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok || bi.Main.Version == "" {
		return "(devel)"
	}
	return bi.Main.Version
}

func runHelp(ctx context.Context, args []string, s stdio) int {
	if len(args) == 0 {
		usage(s.out)
		return exitOK
	}
	c, ok := commands[args[0]]
	if !ok || c.name == "help" {
		fmt.Fprintf(s.err, "wotgen help: unknown subcommand %q\n", args[0])
		return exitUsage
	}
	// Every subcommand prints its usage to stderr on -h; help sends it to stdout.
	return c.run(ctx, []string{"-h"}, stdio{in: s.in, out: s.out, err: s.out})
}
