// Command wotbench measures a WoT server from a separate client process, as users run them: the
// server under test in one process, the load in another, over loopback.
//
//	wotbench serve raw|lamp             serve on 127.0.0.1:0; print "ADDR <host:port>"; stop at EOF on stdin
//	wotbench drive -scenario S [flags]  run one scenario; print one JSON result line
//
// "raw" is the baseline: the thinnest Web Thing Protocol server one can write with
// github.com/coder/websocket and encoding/json (at /wtp), plus a plain net/http JSON handler (GET
// /properties/level) and a plain Server-Sent Events stream (GET /events/level). "lamp" is the
// generated server of examples/lamp (package lampwot) with its device behind it. Both add
// POST /bench/notify?n=N (change "level" N times as fast as possible, notifying observers),
// POST /bench/record (lamp: record the changes of "level" the Thing notifies, for wtp-burst) and
// GET /bench/mem (heap and stacks in use after a GC, and the allocation count). The driver is
// internal/bench's TestOutOfProcess.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: wotbench serve raw|lamp | wotbench drive -scenario S ...")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		if len(os.Args) != 3 {
			err = fmt.Errorf("usage: wotbench serve raw|lamp")
			break
		}
		err = serve(os.Args[2])
	case "drive":
		err = drive(os.Args[2:])
	default:
		err = fmt.Errorf("unknown mode %q; want serve or drive", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "wotbench:", err)
		os.Exit(1)
	}
}
