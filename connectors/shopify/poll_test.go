package shopify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/shopify/shopifytest"
)

func TestPollOrdersPages(t *testing.T) {
	s := newFake(t, shopifytest.Options{MaxPageSize: 2})
	c := newTestConnector(t, s, nil)
	base := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	s.AddOrder(shopifytest.Order{ID: 1, UpdatedAt: base.Add(-time.Hour), Lines: []shopifytest.OrderLine{{SKU: "OLD", Quantity: 1}}})
	for i := int64(2); i <= 8; i++ {
		var lines []shopifytest.OrderLine
		for j := int64(0); j < i; j++ { // up to 8 lines: pages of 2 lines
			lines = append(lines, shopifytest.OrderLine{ID: i*100 + j, SKU: fmt.Sprintf("SKU-%d", j), Quantity: 1})
		}
		s.AddOrder(shopifytest.Order{ID: i, UpdatedAt: base.Add(time.Duration(i) * time.Minute), Lines: lines})
	}
	var pages [][]string
	through, err := c.PollOrders(context.Background(), base, func(_ context.Context, orders []connectors.Order) error {
		var ids []string
		for _, o := range orders {
			n := 0
			fmt.Sscan(o.OrderID, &n)
			if len(o.Lines) != n {
				t.Errorf("order %s has %d lines, want %d (nested line paging)", o.OrderID, len(o.Lines), n)
			}
			ids = append(ids, o.OrderID)
		}
		pages = append(pages, ids)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(pages); got != "[[2 3] [4 5] [6 7] [8]]" {
		t.Errorf("pages = %s, want pages of 2 from order 2 (order 1 is older than since)", got)
	}
	if want := base.Add(8 * time.Minute); !through.Equal(want) {
		t.Errorf("through = %v, want %v", through, want)
	}
	if n := s.Calls()["ShelfsyncOrderLines"]; n == 0 {
		t.Error("no nested line page was fetched")
	}
}

func TestPollOrdersEmptyAndEmitError(t *testing.T) {
	s := newFake(t, shopifytest.Options{})
	c := newTestConnector(t, s, nil)
	since := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	through, err := c.PollOrders(context.Background(), since, func(context.Context, []connectors.Order) error {
		t.Error("emit called without orders")
		return nil
	})
	if err != nil || !through.Equal(since) {
		t.Fatalf("PollOrders = %v, %v; want since and no error", through, err)
	}
	s.AddOrder(shopifytest.Order{UpdatedAt: since.Add(time.Minute), Lines: []shopifytest.OrderLine{{SKU: "A", Quantity: 1}}})
	boom := errors.New("intake down")
	_, err = c.PollOrders(context.Background(), since, func(context.Context, []connectors.Order) error { return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("PollOrders error = %v, want the emit error wrapped", err)
	}
}

func TestFetchOrder(t *testing.T) {
	s := newFake(t, shopifytest.Options{})
	c := newTestConnector(t, s, nil)
	cancelled := time.Date(2026, 4, 1, 10, 0, 0, 0, time.UTC)
	id := s.AddOrder(shopifytest.Order{Name: "#1001", CancelledAt: &cancelled, FinancialStatus: "VOIDED",
		Lines: []shopifytest.OrderLine{{ID: 5, SKU: "A", Quantity: 2}}})
	for _, ref := range []string{fmt.Sprint(id), fmt.Sprintf("gid://shopify/Order/%d", id)} {
		o, err := c.FetchOrder(context.Background(), ref)
		if err != nil {
			t.Fatal(err)
		}
		if o.OrderID != fmt.Sprint(id) || o.Status != connectors.StatusCancelled || o.Lines[0].Cancelled != 2 || o.Name != "#1001" {
			t.Errorf("FetchOrder(%s) = %+v", ref, o)
		}
	}
	for _, ref := range []string{"999999", "not-an-id"} {
		if _, err := c.FetchOrder(context.Background(), ref); !errors.Is(err, connectors.ErrNotFound) {
			t.Errorf("FetchOrder(%s) error = %v, want ErrNotFound", ref, err)
		}
	}
}

func TestAccessTokenRefused(t *testing.T) {
	s := newFake(t, shopifytest.Options{})
	const wrong = "shpat_wrong_but_secret"
	c := newTestConnector(t, s, func(ch *config.Channel) { ch.Credentials.AccessToken = config.NewSecret(wrong) })
	_, err := c.FetchOrder(context.Background(), "1")
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("FetchOrder with a wrong token = %v, want a 401 error", err)
	}
	if strings.Contains(err.Error(), wrong) || strings.Contains(err.Error(), s.Options().AccessToken) {
		t.Errorf("error %q holds a token", err)
	}
}
