package engine

import (
	"context"
	"sync"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
)

// memChannel is an in-memory marketplace for the engine's own tests: it
// holds orders and listed quantities, applies compare-and-set like Shopify,
// and can be told to answer the next push of a SKU as stale. (The
// end-to-end test against the real connectors and their fakes lives in
// package e2e.)
type memChannel struct {
	mu         sync.Mutex
	orders     map[string]connectors.Order
	qty        map[string]int64
	staleNext  map[string]bool
	pushes     int
	pushedSKUs int
	polls      int
	stales     int  // pushes answered stale
	echoes     bool // a compare-and-set channel that takes its own sales off (connectors.SaleEchoer)
}

var (
	_ connectors.OrderPoller    = (*memChannel)(nil)
	_ connectors.OrderFetcher   = (*memChannel)(nil)
	_ connectors.QuantityPusher = (*memChannel)(nil)
	_ connectors.QuantityReader = (*memChannel)(nil)
	_ connectors.SaleEchoer     = (*memChannel)(nil)
)

func newMemChannel() *memChannel {
	return &memChannel{orders: map[string]connectors.Order{}, qty: map[string]int64{}, staleNext: map[string]bool{}}
}

func (m *memChannel) Kind() string { return "mem" }

func (m *memChannel) putOrder(o connectors.Order) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.orders[o.OrderID] = o
}

func (m *memChannel) PollOrders(ctx context.Context, since time.Time, emit func(context.Context, []connectors.Order) error) (time.Time, error) {
	m.mu.Lock()
	m.polls++
	var page []connectors.Order
	through := since
	for _, o := range m.orders {
		if !o.UpdatedAt.Before(since) {
			page = append(page, o)
			if o.UpdatedAt.After(through) {
				through = o.UpdatedAt
			}
		}
	}
	m.mu.Unlock()
	if len(page) > 0 {
		if err := emit(ctx, page); err != nil {
			return time.Time{}, err
		}
	}
	return through, nil
}

func (m *memChannel) FetchOrder(_ context.Context, id string) (*connectors.Order, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.orders[id]
	if !ok {
		return nil, connectors.ErrNotFound
	}
	return &o, nil
}

func (m *memChannel) MaxBatch() int { return 50 }

func (m *memChannel) EchoesSales() bool { return m.echoes }

func (m *memChannel) PushQuantities(_ context.Context, ups []connectors.QuantityUpdate) ([]connectors.PushResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pushes++
	m.pushedSKUs += len(ups)
	out := make([]connectors.PushResult, len(ups))
	for i, u := range ups {
		cur, known := m.qty[u.SKU]
		if m.staleNext[u.SKU] || (known && u.Previous != nil && *u.Previous != cur) {
			delete(m.staleNext, u.SKU)
			m.stales++
			c := cur
			out[i] = connectors.PushResult{SKU: u.SKU, Status: connectors.PushStale, ChannelQuantity: &c}
			continue
		}
		m.qty[u.SKU] = u.Quantity
		out[i] = connectors.PushResult{SKU: u.SKU, Status: connectors.PushAccepted}
	}
	return out, nil
}

func (m *memChannel) ReadQuantities(_ context.Context, skus []string) ([]connectors.LiveQuantity, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []connectors.LiveQuantity
	for _, s := range skus {
		if q, ok := m.qty[s]; ok {
			out = append(out, connectors.LiveQuantity{SKU: s, Quantity: q})
		}
	}
	return out, nil
}

func (m *memChannel) listed(sku string) (int64, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	q, ok := m.qty[sku]
	return q, ok
}

func (m *memChannel) set(sku string, q int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.qty[sku] = q
}
