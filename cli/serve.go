package cli

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/goresnet/goresnet/server"
)

func init() {
	register(&command{name: "serve", summary: "serve the browser app (make run builds it) and datasets on http://127.0.0.1:8080", run: runServe})
}

const serveHelp = `
Serves the browser app: the pages, app.wasm and worker.wasm as built by
make web (precompressed with brotli and gzip), the icons, the worker
bootstrap and the service worker that keeps the app working offline, and
datasets under /data/NAME/ (Range requests, content-addressed caching;
/data/ lists them). Every response carries the cross-origin isolation
headers (COOP same-origin, COEP require-corp) that the workers' shared
memory needs.

It listens on the loopback interface only, unless --addr says otherwise:
then anyone who can reach the address can load the app and read every
dataset served. Ctrl-C (SIGINT) or SIGTERM stops it cleanly.

Examples:
  make run                                    # build everything, then serve
  goresnet serve                              # web/ and the datasets in data/
  goresnet serve --data ~/datasets --debug    # another data folder, one log line per request
  goresnet serve --addr 0.0.0.0:8080          # reachable from other machines (say so loudly)`

func runServe(env *Env, args []string) error {
	fs := newFlags(env, "serve", "[--addr HOST:PORT] [--data DIR] [--web DIR] [--debug]", serveHelp)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on (loopback by default)")
	dataDir := fs.String("data", "data", "serve every dataset folder (with a manifest.json) under DIR as /data/NAME/")
	digits := fs.String("digits", "data/digits", "the built-in digits dataset (make data/digits), served as /data/digits/ unless DIR has one")
	web := fs.String("web", "web", "the built app: app.wasm, worker.wasm and their .br/.gz (make web)")
	debug := fs.Bool("debug", false, "log one line per request")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	extra := map[string]string{}
	if *digits != "" {
		extra["digits"] = *digits
	}
	s, err := server.New(server.Config{WebDir: *web, DataDir: *dataDir, Datasets: extra, Debug: *debug, Log: env.Stderr})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	// What the listener is bound to decides (a name may resolve to any
	// address): a wildcard or any other interface gets the warning.
	if t, ok := ln.Addr().(*net.TCPAddr); !ok || !t.IP.IsLoopback() || !loopbackOnly(*addr) {
		fmt.Fprintf(env.Stderr, "\n*** WARNING: goresnet serve listens on %s, which is not only the loopback interface.\n"+
			"*** Other machines that can reach it can load the app and download every dataset it serves.\n"+
			"*** Use --addr 127.0.0.1:PORT to keep it on this machine.\n\n", ln.Addr())
	}
	ctx, stop := serveContext()
	defer stop()
	fmt.Fprintf(env.Stdout, "goresnet: serving on http://%s/ (Ctrl-C stops)\n  %s\n", displayAddr(ln.Addr()), s.Describe())
	if err := s.Serve(ctx, ln); err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, "goresnet: stopped")
	return nil
}

// serveContext is the context serve runs under: done at SIGINT or
// SIGTERM (a test replaces it).
var serveContext = func() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// loopbackOnly reports whether addr's host is a loopback address or a
// name that resolves only to loopback addresses ("localhost").
func loopbackOnly(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return false
	}
	if ip := net.ParseIP(host); ip != nil {
		return ip.IsLoopback()
	}
	ips, err := net.LookupIP(host)
	if err != nil || len(ips) == 0 {
		return false
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return false
		}
	}
	return true
}

// displayAddr is the address to open in a browser: a wildcard listener
// is reachable on the loopback address too.
func displayAddr(a net.Addr) string {
	t, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	if t.IP == nil || t.IP.IsUnspecified() {
		return net.JoinHostPort("127.0.0.1", fmt.Sprint(t.Port))
	}
	return t.String()
}
