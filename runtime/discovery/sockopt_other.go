//go:build !unix

package discovery

import "syscall"

// reusePort is a no-op where SO_REUSEPORT does not exist: the mDNS socket then fails to open while
// another responder holds UDP 5353, with an error that says so.
func reusePort(_, _ string, _ syscall.RawConn) error { return nil }
