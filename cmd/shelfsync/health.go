package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

func init() {
	commands["health"] = command{
		summary: "probe a running daemon's /healthz (or /readyz with --ready): exit 0 or 1, for HEALTHCHECK",
		run:     health,
	}
}

// health is `shelfsync health`: one GET of a running daemon's /healthz
// (or /readyz with --ready), exit 0 on 200 and 1 otherwise, so an image
// without curl (distroless) has a HEALTHCHECK. It reads no config: --url
// names the listener that serves health (http.admin_listen when set,
// else http.listen).
func health(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("health", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("url", "http://127.0.0.1:8080", "base URL of the daemon's health listener")
	ready := fs.Bool("ready", false, "probe /readyz (channels, Redis) instead of /healthz (the process serves)")
	timeout := fs.Duration("timeout", 5*time.Second, "bound of the whole probe")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	u, err := url.Parse(*base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		fmt.Fprintf(stderr, "health: --url must be an http(s) URL like http://127.0.0.1:8080, got %q\n", *base)
		return 2
	}
	path := "/healthz"
	if *ready {
		path = "/readyz"
	}
	target := strings.TrimSuffix(u.String(), "/") + path
	code, body, err := probe(ctx, target, *timeout)
	if err != nil {
		fmt.Fprintf(stderr, "health: %s: %v\n", target, err)
		return 1
	}
	if code != http.StatusOK {
		fmt.Fprintf(stderr, "health: %s: HTTP %d %s\n", target, code, body)
		return 1
	}
	fmt.Fprintf(stdout, "ok: %s %s\n", target, body)
	return 0
}

// probe GETs target within timeout and returns the status and the start
// of the body.
func probe(ctx context.Context, target string, timeout time.Duration) (int, string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	return resp.StatusCode, strings.TrimSpace(string(b)), nil
}
