package ebay

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
)

const (
	returnSearchPath = "/post-order/v2/return/search"
	returnPath       = "/post-order/v2/return/"
	// returnsPageSize is the search's page (limit).
	returnsPageSize = 200
	// returnsReach is how far back the search's creation date may start:
	// eBay says 18 months; a day is kept off for clock skew.
	returnsReach = 547*24*time.Hour - 24*time.Hour
	// DefaultReturnsLookBack is how long after its creation a return is
	// still read at every poll: the search filters by creation date only,
	// so a return that changes later (shipped back, delivered, closed) is
	// found by reading again every return created within this window.
	DefaultReturnsLookBack = 90 * 24 * time.Hour
	// returnSeenTTL keeps a return's last emitted state past the window.
	returnSeenTTL = DefaultReturnsLookBack + 7*24*time.Hour
)

// returnsPage is the search's answer (GetSummaryResponse).
type returnsPage struct {
	Members          []apiReturn `json:"members"`
	PaginationOutput struct {
		Limit        int `json:"limit"`
		Offset       int `json:"offset"`
		TotalEntries int `json:"totalEntries"`
		TotalPages   int `json:"totalPages"`
	} `json:"paginationOutput"`
}

// apiReturn is a ReturnSummaryType, the fields a return's units need.
type apiReturn struct {
	ReturnID     string `json:"returnId"`
	OrderID      string `json:"orderId"`
	State        string `json:"state"`
	Status       string `json:"status"`
	CreationInfo struct {
		Item struct {
			ItemID         string          `json:"itemId"`
			TransactionID  string          `json:"transactionId"`
			ReturnQuantity json.RawMessage `json:"returnQuantity"`
		} `json:"item"`
		Reason       string  `json:"reason"`
		CreationDate apiDate `json:"creationDate"`
	} `json:"creationInfo"`
}

// apiDate is the Post-Order API's DateTime: {"value": "…"}, or a bare
// string.
type apiDate struct{ Value string }

func (d *apiDate) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &d.Value)
	}
	var v struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	d.Value = v.Value
	return nil
}

// returnDetail is GET /post-order/v2/return/{returnId}'s answer, the
// state history only.
type returnDetail struct {
	Detail struct {
		ResponseHistory []struct {
			FromState string `json:"fromState"`
			ToState   string `json:"toState"`
		} `json:"responseHistory"`
	} `json:"detail"`
}

// deliveredState is eBay's state and status of a return item delivered
// back to the seller.
const deliveredState = "ITEM_DELIVERED"

// PollReturns implements connectors.ReturnPoller with the Post-Order
// API's return search, by creation date from the earlier of since and
// the look-back window (DefaultReturnsLookBack before now), at most 18
// months back, paged by limit and offset until totalEntries.
//
// Each return is mapped (returnFor) and emitted only when its state,
// status or quantity differ from what was last emitted for it (kept in
// the channel cache after emit succeeds), so a quiet account emits
// nothing. A return that cannot be mapped is skipped, logged and counted
// (shelfsync_ebay_skipped_returns_total): failing the poll would stop
// every later poll at it. through is the connector's clock before the
// first page (never before since); on an error it is since.
func (c *Connector) PollReturns(ctx context.Context, since time.Time, emit func(context.Context, []connectors.Return) error) (time.Time, error) {
	now := c.deps.Now().UTC()
	from := now.Add(-DefaultReturnsLookBack)
	if since.Before(from) {
		from = since
	}
	if floor := now.Add(-returnsReach); from.Before(floor) {
		from = floor
	}
	from = from.UTC().Truncate(time.Millisecond)
	orders := map[string]*apiOrder{}
	for offset := 0; ; {
		page, err := c.searchReturns(ctx, from, now, offset)
		if err != nil {
			return since, err
		}
		out, fps, err := c.mapReturns(ctx, page.Members, orders)
		if err != nil {
			return since, err
		}
		if len(out) > 0 {
			if err := emit(ctx, out); err != nil {
				return since, fmt.Errorf("polling eBay returns: emit: %w", err)
			}
			c.rememberReturns(ctx, out, fps)
		}
		offset += len(page.Members)
		if len(page.Members) == 0 || offset >= page.PaginationOutput.TotalEntries {
			if now.Before(since) {
				return since, nil
			}
			return now, nil
		}
	}
}

// searchReturns asks for one page of the seller's returns created
// between from and to.
func (c *Connector) searchReturns(ctx context.Context, from, to time.Time, offset int) (*returnsPage, error) {
	q := url.Values{
		"creation_date_range_from": {from.Format(filterTimeFormat)},
		"creation_date_range_to":   {to.Truncate(time.Millisecond).Format(filterTimeFormat)},
		"role":                     {"SELLER"},
		"limit":                    {strconv.Itoa(returnsPageSize)},
		"offset":                   {strconv.Itoa(offset)},
	}
	resp, err := c.sendWith(ctx, c.postOrder(), http.MethodGet, returnSearchPath, q, nil)
	if err != nil {
		return nil, fmt.Errorf("searching eBay returns (offset %d): %w", offset, err)
	}
	page, err := parseReturnsPage(resp)
	if err != nil {
		return nil, fmt.Errorf("searching eBay returns (offset %d): %w", offset, err)
	}
	return page, nil
}

// parseReturnsPage reads the search's answer: a 2xx JSON page, else
// eBay's error.
func parseReturnsPage(resp *response) (*returnsPage, error) {
	if resp.status < 200 || resp.status > 299 {
		return nil, newAPIError("GET "+returnSearchPath, resp)
	}
	var page returnsPage
	if err := json.Unmarshal(resp.body, &page); err != nil {
		return nil, fmt.Errorf("decoding the answer: %w", err)
	}
	if page.PaginationOutput.TotalEntries < 0 {
		return nil, fmt.Errorf("negative totalEntries %d", page.PaginationOutput.TotalEntries)
	}
	return &page, nil
}

// mapReturns maps one page's returns that changed since last emitted,
// with their fingerprints; a return that cannot be mapped is skipped and
// counted. The error is for calls that failed (the poll is retried).
func (c *Connector) mapReturns(ctx context.Context, members []apiReturn, orders map[string]*apiOrder) ([]connectors.Return, []string, error) {
	var out []connectors.Return
	var fps []string
	for i := range members {
		m := &members[i]
		fp := returnFingerprint(m)
		if last, ok, err := c.cacheGet(ctx, returnSeenKey(m.ReturnID)); err == nil && ok && last == fp {
			continue
		}
		r, skip, err := c.returnFor(ctx, m, orders)
		if err != nil {
			return nil, nil, err
		}
		if skip != "" {
			// Counted and logged once per state of the return: it is
			// remembered as skipped until it changes.
			c.metrics.skippedReturns.WithLabelValues(skip).Inc()
			c.log.Warn().Str("return", m.ReturnID).Str("order", m.OrderID).Str("reason", skip).
				Msg("eBay return skipped: it cannot be mapped to an order line")
			if err := c.cacheSet(ctx, returnSeenKey(m.ReturnID), fp, returnSeenTTL); err != nil {
				c.log.Warn().Err(err).Str("return", m.ReturnID).Msg("skipped eBay return not remembered")
			}
			continue
		}
		out = append(out, *r)
		fps = append(fps, fp)
	}
	return out, fps, nil
}

// rememberReturns records the fingerprints of emitted returns; a failure
// only means they are emitted again (a repeat changes nothing).
func (c *Connector) rememberReturns(ctx context.Context, rs []connectors.Return, fps []string) {
	for i, r := range rs {
		if err := c.cacheSet(ctx, returnSeenKey(r.ReturnID), fps[i], returnSeenTTL); err != nil {
			c.log.Warn().Err(err).Str("return", r.ReturnID).Msg("eBay return's state not remembered")
		}
	}
}

// returnSeenKey is where a return's last emitted (or skipped) state is
// kept: its id hashed, so any id eBay sends makes a safe key.
func returnSeenKey(id string) string {
	h := sha256.Sum256([]byte(id))
	return "ebay:return:" + hex.EncodeToString(h[:12])
}

// returnFingerprint is what makes a return worth emitting again.
func returnFingerprint(m *apiReturn) string {
	h := sha256.Sum256(fmt.Appendf(nil, "%s\x1f%s\x1f%s\x1f%s", m.State, m.Status, m.OrderID, m.CreationInfo.Item.ReturnQuantity))
	return hex.EncodeToString(h[:8])
}

// Why a return is skipped (the metric's reason label).
const (
	skipInvalid      = "invalid"
	skipUnknownOrder = "unknown_order"
	skipUnknownLine  = "unknown_line"
)

var skipReasons = []string{skipInvalid, skipUnknownOrder, skipUnknownLine}

// returnFor maps one return (toReturn), with its order's line (the
// order is fetched once per poll) and, for a closed return, whether its
// item was delivered back first (the return's state history). skip is
// why it cannot be mapped; the error is a failed call.
func (c *Connector) returnFor(ctx context.Context, m *apiReturn, orders map[string]*apiOrder) (*connectors.Return, string, error) {
	if err := checkReturn(m); err != nil {
		return nil, skipInvalid, nil
	}
	o, ok := orders[m.OrderID]
	if !ok {
		var err error
		if o, err = c.fetchAPIOrder(ctx, m.OrderID); err != nil {
			return nil, "", err
		}
		orders[m.OrderID] = o
	}
	if o == nil {
		return nil, skipUnknownOrder, nil
	}
	received := m.State == deliveredState || m.Status == deliveredState
	if !received && m.State == "CLOSED" {
		var err error
		if received, err = c.wasDelivered(ctx, m.ReturnID); err != nil {
			return nil, "", err
		}
	}
	r, skip := toReturn(m, o, received)
	return r, skip, nil
}

// fetchAPIOrder is getOrder's raw order, nil when eBay does not know it.
func (c *Connector) fetchAPIOrder(ctx context.Context, orderID string) (*apiOrder, error) {
	var o apiOrder
	err := c.getJSON(ctx, ordersPath+"/"+url.PathEscape(orderID), nil, &o)
	var ae *APIError
	if errors.As(err, &ae) && (ae.Status == http.StatusNotFound || ae.hasError(32100)) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("fetching eBay order %s of a return: %w", orderID, err)
	}
	return &o, nil
}

// wasDelivered reads a return's state history: was its item delivered
// back to the seller before it closed?
func (c *Connector) wasDelivered(ctx context.Context, returnID string) (bool, error) {
	resp, err := c.sendWith(ctx, c.postOrder(), http.MethodGet, returnPath+url.PathEscape(returnID), nil, nil)
	if err != nil {
		return false, fmt.Errorf("reading eBay return %s: %w", returnID, err)
	}
	d, err := parseReturnDetail(resp)
	if err != nil {
		return false, fmt.Errorf("reading eBay return %s: %w", returnID, err)
	}
	for _, h := range d.Detail.ResponseHistory {
		if h.ToState == deliveredState || h.FromState == deliveredState {
			return true, nil
		}
	}
	return false, nil
}

// parseReturnDetail reads GET /post-order/v2/return/{id}'s answer.
func parseReturnDetail(resp *response) (*returnDetail, error) {
	if resp.status < 200 || resp.status > 299 {
		return nil, newAPIError("GET "+returnPath+"{returnId}", resp)
	}
	var d returnDetail
	if err := json.Unmarshal(resp.body, &d); err != nil {
		return nil, fmt.Errorf("decoding the answer: %w", err)
	}
	return &d, nil
}

// checkReturn refuses what the ledger could not key or count: ids with a
// control character, a missing or bad quantity or creation date.
func checkReturn(m *apiReturn) error {
	if m.ReturnID == "" || m.OrderID == "" {
		return errors.New("return without returnId or orderId")
	}
	for name, id := range map[string]string{"returnId": m.ReturnID, "orderId": m.OrderID} {
		if err := connectors.CheckID(name, id); err != nil {
			return err
		}
	}
	if _, err := returnQuantity(m); err != nil {
		return err
	}
	if _, err := parseTime(m.CreationInfo.CreationDate.Value); err != nil {
		return fmt.Errorf("creationDate: %w", err)
	}
	return nil
}

// returnQuantity is the return's units: an integer from 1 to MaxQuantity.
func returnQuantity(m *apiReturn) (int64, error) {
	n, err := quantity(m.CreationInfo.Item.ReturnQuantity)
	if err != nil {
		return 0, err
	}
	if n < 1 {
		return 0, fmt.Errorf("returnQuantity %d", n)
	}
	return n, nil
}

// toReturn maps a checked return on its order o: the line is the order's
// line whose lineItemId is the return's transactionId, else the order's
// only line of the return's listing (legacyItemId = itemId). Status is
// eBay's state (its status when there is none), lower case; Reason is
// eBay's return reason, lower case; Received is given.
func toReturn(m *apiReturn, o *apiOrder, received bool) (*connectors.Return, string) {
	line := orderLineOf(o, m.CreationInfo.Item.ItemID, m.CreationInfo.Item.TransactionID)
	if line == nil || connectors.CheckID("lineItemId", line.LineItemID) != nil || connectors.CheckID("orderId", o.OrderID) != nil {
		return nil, skipUnknownLine
	}
	qty, _ := returnQuantity(m)
	created, _ := parseTime(m.CreationInfo.CreationDate.Value)
	status := m.State
	if status == "" {
		status = m.Status
	}
	return &connectors.Return{
		OrderID:   o.OrderID,
		ReturnID:  m.ReturnID,
		CreatedAt: created,
		Status:    strings.ToLower(status),
		Lines: []connectors.ReturnLine{{
			LineID: line.LineItemID, SKU: line.SKU, Quantity: qty,
			Received: received, Reason: strings.ToLower(m.CreationInfo.Reason),
		}},
	}, ""
}

// orderLineOf finds the order's line of a return item (see toReturn).
func orderLineOf(o *apiOrder, itemID, transactionID string) *apiLineItem {
	var byItem *apiLineItem
	n := 0
	for i := range o.LineItems {
		li := &o.LineItems[i]
		if transactionID != "" && li.LineItemID == transactionID {
			return li
		}
		if itemID != "" && li.LegacyItemID == itemID {
			byItem, n = li, n+1
		}
	}
	if n == 1 && byItem.LineItemID != "" {
		return byItem
	}
	return nil
}
