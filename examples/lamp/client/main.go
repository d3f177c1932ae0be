// Command client consumes any lamp with the TD of examples/lamp through the generated client
// (package lampwot) and checks that it behaves as the Web Thing Protocol says:
//
//	go run ./examples/lamp/client -url http://127.0.0.1:8080/ [-binding http|wtp] [-token T]
//
// The lamp's TD offers every operation over HTTP and over the Web Thing Protocol; -binding makes the
// client use one of them only (by default the core picks the first form it can use: HTTP).
// It reads every property, writes, observes level, runs fade and waits for it, cancels a second
// fade, subscribes to overheated and triggers it, prints what it saw, and exits 0 only if every step
// behaved.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/wotgen/wotgen/examples/lamp/lampwot"
	"github.com/wotgen/wotgen/runtime/wot"
	"github.com/wotgen/wotgen/runtime/wothttp"
	"github.com/wotgen/wotgen/runtime/wtp"
)

func main() {
	url := flag.String("url", "http://127.0.0.1:8080/", "`URL` of the lamp's Thing Description (or its ws:// endpoint)")
	token := flag.String("token", "", "bearer `token` to authenticate with")
	binding := flag.String("binding", "", "use only this protocol `binding`: http or wtp (default: any the TD offers)")
	timeout := flag.Duration("timeout", 30*time.Second, "give up after this long")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if err := check(ctx, *url, *token, *binding, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		os.Exit(1)
	}
	fmt.Println("PASS: the lamp behaved as the protocol says")
}

// check runs every step against the lamp at url and returns the first misbehaviour.
func check(ctx context.Context, url, token, binding string, w io.Writer) error {
	var opts []wot.DialOption
	if token != "" {
		opts = append(opts, wot.WithBearerToken(token))
	}
	switch binding {
	case "":
	case "http":
		opts = append(opts, wot.WithBindings(wothttp.Binding{}))
	case "wtp":
		opts = append(opts, wot.WithBindings(wtp.Binding{}))
	default:
		return fmt.Errorf("-binding %q: want http or wtp", binding)
	}
	c, err := lampwot.Dial(ctx, url, opts...)
	if err != nil {
		return fmt.Errorf("dial %s: %w", url, err)
	}
	defer c.Close()
	say := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }

	// Read every property, one by one and all at once.
	on, err := c.ReadOn(ctx)
	if err != nil {
		return fmt.Errorf("read on: %w", err)
	}
	level, err := c.ReadLevel(ctx)
	if err != nil {
		return fmt.Errorf("read level: %w", err)
	}
	temp, err := c.ReadTemperature(ctx)
	if err != nil {
		return fmt.Errorf("read temperature: %w", err)
	}
	say("read: on=%v level=%d temperature=%.1f", on, level, temp)
	all, err := c.ReadAllProperties(ctx)
	if err != nil {
		return fmt.Errorf("readallproperties: %w", err)
	}
	if all.On != on || all.Level != level || all.Temperature != temp {
		return fmt.Errorf("readallproperties = %+v, want the values read one by one", *all)
	}
	say("readallproperties: %+v", *all)

	// Write, and see the writes.
	if err := c.WriteOn(ctx, !on); err != nil {
		return fmt.Errorf("write on: %w", err)
	}
	if got, err := c.ReadOn(ctx); err != nil || got != !on {
		return fmt.Errorf("after writing on=%v, read %v (%v)", !on, got, err)
	}
	if err := c.WriteLevel(ctx, 20); err != nil {
		return fmt.Errorf("write level: %w", err)
	}
	if got, err := c.ReadLevel(ctx); err != nil || got != 20 {
		return fmt.Errorf("after writing level=20, read %d (%v)", got, err)
	}
	say("wrote: on=%v level=20", !on)

	// Invalid values never leave the client, and the Thing rejects them too (400 with the path).
	if err := c.WriteLevel(ctx, 120); !wot.IsBadRequest(err) {
		return fmt.Errorf("writing level=120: got %v, want a 400 before sending", err)
	}
	if _, err := c.Thing().WriteProperty(ctx, "level", 120); !wot.IsBadRequest(err) {
		return fmt.Errorf("the Thing accepted level=120 (err %v); want 400", err)
	} else {
		say("level=120 rejected: %v", err)
	}

	// Observe level while a fade runs.
	levels := make(chan lampwot.Level, 1024)
	sub, err := c.ObserveLevel(ctx, func(v lampwot.Level, err error) {
		if err == nil {
			levels <- v
		}
	})
	if err != nil {
		return fmt.Errorf("observe level: %w", err)
	}
	fade, err := c.Fade(ctx, lampwot.FadeInput{Level: 60, Duration: 300})
	if err != nil {
		return fmt.Errorf("invoke fade: %w", err)
	}
	if st, err := fade.Status(ctx); err != nil || (st.State != wot.ActionPending && st.State != wot.ActionRunning && st.State != wot.ActionCompleted) {
		return fmt.Errorf("fade status: %v (%v)", st, err)
	}
	ok, err := fade.Wait(ctx)
	if err != nil || !ok {
		return fmt.Errorf("fade finished with %v (%v), want true", ok, err)
	}
	var seen []lampwot.Level
	deadline := time.After(2 * time.Second)
collect:
	for {
		select {
		case v := <-levels:
			seen = append(seen, v)
			if v == 60 {
				break collect
			}
		case <-deadline:
			return fmt.Errorf("observed levels %v during the fade, never 60", seen)
		}
	}
	if len(seen) < 2 {
		return fmt.Errorf("observed levels %v: want the fade's steps, not a jump", seen)
	}
	say("fade 20→60 over 300ms: observed %v, output %v", seen, ok)
	if err := sub.Stop(ctx); err != nil {
		return fmt.Errorf("unobserve level: %w", err)
	}

	// Cancel a second, long fade: it stops where it is.
	slow, err := c.Fade(ctx, lampwot.FadeInput{Level: 0, Duration: 10_000})
	if err != nil {
		return fmt.Errorf("invoke the second fade: %w", err)
	}
	time.Sleep(100 * time.Millisecond)
	if err := slow.Cancel(ctx); err != nil {
		return fmt.Errorf("cancel the second fade: %w", err)
	}
	stopped, err := c.ReadLevel(ctx)
	if err != nil {
		return fmt.Errorf("read level after cancel: %w", err)
	}
	time.Sleep(100 * time.Millisecond)
	if again, err := c.ReadLevel(ctx); err != nil || again != stopped || stopped == 0 {
		return fmt.Errorf("after cancelling, level went %d → %d (%v); want it to stay put above 0", stopped, again, err)
	}
	say("second fade cancelled at level %d", stopped)

	// Overheat: writing 100 emits overheated once.
	heat := make(chan float64, 8)
	esub, err := c.SubscribeOverheated(ctx, func(data float64, err error) {
		if err == nil {
			heat <- data
		}
	})
	if err != nil {
		return fmt.Errorf("subscribe overheated: %w", err)
	}
	if err := c.WriteLevel(ctx, 100); err != nil {
		return fmt.Errorf("write level=100: %w", err)
	}
	select {
	case t := <-heat:
		say("overheated at %.1f °C", t)
	case <-time.After(2 * time.Second):
		return fmt.Errorf("no overheated event after writing level=100")
	}
	select {
	case t := <-heat:
		return fmt.Errorf("a second overheated event (%.1f) for one write", t)
	case <-time.After(100 * time.Millisecond):
	}
	if err := esub.Stop(ctx); err != nil {
		return fmt.Errorf("unsubscribe overheated: %w", err)
	}
	return nil
}
