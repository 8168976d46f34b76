package amazon

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
)

// readConcurrently makes n callers read at once and fails on any error.
func readConcurrently(t *testing.T, c *Connector, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			got, err := c.ReadQuantities(context.Background(), []string{"SKU-1"})
			if err == nil && (len(got) != 1 || got[0].Quantity != 7) {
				t.Errorf("read %+v", got)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestTokenRefreshConcurrent: many callers share one token; after 55
// minutes of its hour (inside the 5-minute margin) one refresh serves them
// all again.
func TestTokenRefreshConcurrent(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, nil)
	srv.SetListing("SKU-1", 7)
	c := newTestConnector(t, srv, clk, nil)

	readConcurrently(t, c, 20)
	if n := srv.TokenRefreshes(); n != 1 {
		t.Fatalf("%d refreshes for 20 concurrent callers, want 1", n)
	}
	clk.Advance(50 * time.Minute)
	readConcurrently(t, c, 20)
	if n := srv.TokenRefreshes(); n != 1 {
		t.Fatalf("%d refreshes at 50 minutes, want still 1", n)
	}
	clk.Advance(6 * time.Minute)
	readConcurrently(t, c, 20)
	if n := srv.TokenRefreshes(); n != 2 {
		t.Fatalf("%d refreshes after 56 minutes, want 2", n)
	}
	// An hour and more later the old token is refused by the fake: the
	// connector must be using the new one.
	clk.Advance(10 * time.Minute)
	readConcurrently(t, c, 5)
	if n := srv.TokenRefreshes(); n != 2 {
		t.Fatalf("%d refreshes at 66 minutes, want 2", n)
	}
}

// TestTokenRevoked: a 403 for a token Amazon no longer takes is retried
// once with a fresh token.
func TestTokenRevoked(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, nil)
	srv.SetListing("SKU-1", 7)
	c := newTestConnector(t, srv, clk, nil)
	readConcurrently(t, c, 1)
	srv.RevokeTokens()
	readConcurrently(t, c, 1)
	if n, calls := srv.TokenRefreshes(), srv.Calls("searchListingsItems"); n != 2 || calls != 3 {
		t.Fatalf("%d refreshes, %d calls; want 2 and 3 (one refused)", n, calls)
	}
}

func TestTokenRefused(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, nil)
	srv.SetListing("SKU-1", 7)
	c := newTestConnector(t, srv, clk, func(ch *config.Channel) {
		ch.Credentials.ClientSecret = config.NewSecret("wrong-client-secret-value")
	})
	if err := c.Ready(); err != nil {
		t.Fatalf("ready before any call: %v", err)
	}
	_, err := c.ReadQuantities(context.Background(), []string{"SKU-1"})
	if err == nil || !strings.Contains(err.Error(), "invalid_client") {
		t.Fatalf("got %v, want invalid_client", err)
	}
	for _, s := range []string{"wrong-client-secret-value", srv.Options().RefreshToken} {
		if strings.Contains(err.Error(), s) {
			t.Fatal("error holds a credential")
		}
	}
	if err := c.Ready(); err == nil {
		t.Fatal("ready while Login with Amazon refuses the credentials")
	}
	if srv.Calls("searchListingsItems") != 0 {
		t.Error("called the API without a token")
	}
}

// TestThrottled: 429 answers are retried, after Retry-After when Amazon
// sends it and with backoff when not; a SKU still throttled after the
// retries is to be retried later, the others are pushed.
func TestThrottled(t *testing.T) {
	for _, retryAfter := range []string{"", "1"} {
		t.Run("Retry-After="+retryAfter, func(t *testing.T) {
			clk := newClock()
			srv := newFake(t, clk, nil)
			srv.SetListing("SKU-1", 7)
			c := newTestConnector(t, srv, clk, nil)
			srv.Throttle("searchListingsItems", 2, retryAfter)
			got, err := c.ReadQuantities(context.Background(), []string{"SKU-1"})
			if err != nil || len(got) != 1 || got[0].Quantity != 7 {
				t.Fatalf("got %+v, %v", got, err)
			}
			if n := srv.Calls("searchListingsItems"); n != 3 {
				t.Errorf("%d calls, want 3 (two throttled)", n)
			}
		})
	}
	t.Run("beyond the retries", func(t *testing.T) {
		clk := newClock()
		srv := newFake(t, clk, nil)
		srv.SetListing("SKU-1", 7)
		c := newTestConnector(t, srv, clk, func(ch *config.Channel) { ch.MaxRetries = 1 })
		srv.Throttle("patchListingsItem", 2, "")
		res, err := c.PushQuantities(context.Background(), []connectors.QuantityUpdate{{SKU: "SKU-1", Quantity: 3}})
		if err != nil {
			t.Fatal(err)
		}
		if res[0].Status != connectors.PushRetry || !strings.Contains(res[0].Reason, "QuotaExceeded") {
			t.Fatalf("got %+v, want retry for QuotaExceeded", res[0])
		}
		if q, _ := srv.Quantity("SKU-1"); q != 7 {
			t.Errorf("quantity %d changed by a throttled call", q)
		}
	})
}
