package ebaytest

import (
	"net/http"
	"sort"
	"strings"
	"time"
)

// Return is a return request as the fake keeps it (Post-Order API);
// it is served with eBay's field names.
type Return struct {
	ReturnID      string
	OrderID       string
	ItemID        string // the listing (legacyItemId of the order's line)
	TransactionID string // with ItemID, the order line
	Quantity      int64
	Reason        string // ReturnReasonEnum: NO_LONGER_NEED_ITEM, DEFECTIVE_ITEM, ...
	State         string // ReturnStateEnum: RETURN_REQUESTED, ITEM_SHIPPED, ITEM_DELIVERED, CLOSED, ...
	Status        string // ReturnStatusEnum
	CreationDate  time.Time
	// history is every state the return went through, in order.
	history []string
}

// Post-Order limits the fake applies to the return search.
const (
	// returnsReach: the search's creation date may start at most 18
	// months back (eBay's documented limit).
	returnsReach = 548 * 24 * time.Hour
	// maxReturnsLimit is the largest page the fake serves: eBay's
	// maximum is not on the pages checked; 200 is an assumption.
	maxReturnsLimit = 200
)

// AddReturn stores (or replaces) a return; a zero CreationDate is now,
// and it is kept to the millisecond.
func (s *Server) AddReturn(r Return) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.CreationDate.IsZero() {
		r.CreationDate = s.opts.Now()
	}
	// eBay's timestamps have milliseconds.
	r.CreationDate = r.CreationDate.UTC().Truncate(time.Millisecond)
	if r.State == "" {
		r.State = "RETURN_REQUESTED"
	}
	r.history = []string{r.State}
	s.returns[r.ReturnID] = &r
}

// SetReturnState moves a return to a new state and status, as the buyer
// and seller do; it reports whether the return exists.
func (s *Server) SetReturnState(id, state, status string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.returns[id]
	if !ok {
		return false
	}
	r.State, r.Status = state, status
	r.history = append(r.history, state)
	return true
}

func (r *Return) json() map[string]any {
	return map[string]any{
		"returnId":       r.ReturnID,
		"orderId":        r.OrderID,
		"state":          r.State,
		"status":         r.Status,
		"currentType":    "MONEY_BACK",
		"buyerLoginName": "ebaytest_buyer",
		"creationInfo": map[string]any{
			"item": map[string]any{
				"itemId":         r.ItemID,
				"transactionId":  r.TransactionID,
				"returnQuantity": r.Quantity,
			},
			"reason":       r.Reason,
			"reasonType":   "REMORSE",
			"creationDate": map[string]string{"value": r.CreationDate.UTC().Format(dateFormat)},
		},
	}
}

// postOrderError writes the Post-Order API's error form.
func postOrderError(w http.ResponseWriter, status, id int, msg string) {
	writeJSON(w, status, map[string]any{"errorMessage": map[string]any{"error": []map[string]any{{
		"errorId": id, "domain": "returnErrorDomain", "severity": "ERROR", "category": "REQUEST", "message": msg,
		"httpStatusCode": status,
	}}}})
}

// returnsQuery is a return search's parameters.
type returnsQuery struct {
	from, to      time.Time
	limit, offset int
	role          string
}

// parseReturnsQuery reads creation_date_range_from/to (eBay's UTC format;
// from must be before to and at most 18 months back; to defaults to now),
// role (SELLER or BUYER, default SELLER), limit (1 to 200, default 10)
// and offset (entries to skip, default 0). bad is the refusal.
func (s *Server) parseReturnsQuery(r *http.Request) (returnsQuery, string) {
	q := r.URL.Query()
	now := s.opts.Now().UTC()
	rq := returnsQuery{to: now, from: now.Add(-returnsReach), role: "SELLER"}
	var err error
	if v := q.Get("creation_date_range_from"); v != "" {
		if rq.from, err = time.Parse(dateFormat, v); err != nil {
			return rq, "Invalid creation_date_range_from: " + v
		}
	}
	if v := q.Get("creation_date_range_to"); v != "" {
		if rq.to, err = time.Parse(dateFormat, v); err != nil {
			return rq, "Invalid creation_date_range_to: " + v
		}
	}
	switch {
	case !rq.from.Before(rq.to):
		return rq, "creation_date_range_from must be older than creation_date_range_to"
	case rq.from.Before(now.Add(-returnsReach)):
		return rq, "creation_date_range_from cannot be more than 18 months in the past"
	}
	if v := q.Get("role"); v != "" {
		if v != "SELLER" && v != "BUYER" {
			return rq, "Invalid role: " + v
		}
		rq.role = v
	}
	limit, offset, bad := paging(q, 10, maxReturnsLimit)
	if bad != "" {
		return rq, "Invalid " + bad + ": " + q.Get(bad)
	}
	rq.limit, rq.offset = limit, offset
	return rq, ""
}

// handleSearchReturns is GET /post-order/v2/return/search: the seller's
// returns created within the range, oldest first, a page of them with
// paginationOutput {limit, offset, totalEntries, totalPages}. The fake's
// returns are the seller's: role=BUYER finds none.
func (s *Server) handleSearchReturns(w http.ResponseWriter, r *http.Request) {
	rq, bad := s.parseReturnsQuery(r)
	if bad != "" {
		postOrderError(w, http.StatusBadRequest, 1702, bad)
		return
	}
	s.mu.Lock()
	var match []*Return
	for _, ret := range s.returns {
		if rq.role == "SELLER" && !ret.CreationDate.Before(rq.from) && !ret.CreationDate.After(rq.to) {
			match = append(match, ret)
		}
	}
	sort.Slice(match, func(i, j int) bool {
		if !match[i].CreationDate.Equal(match[j].CreationDate) {
			return match[i].CreationDate.Before(match[j].CreationDate)
		}
		return match[i].ReturnID < match[j].ReturnID
	})
	members := []map[string]any{}
	for i := rq.offset; i < len(match) && i < rq.offset+rq.limit; i++ {
		members = append(members, match[i].json())
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"members": members,
		"paginationOutput": map[string]any{
			"limit": rq.limit, "offset": rq.offset, "totalEntries": len(match),
			"totalPages": (len(match) + rq.limit - 1) / rq.limit,
		},
	})
}

// handleGetReturn is GET /post-order/v2/return/{returnId} (fieldgroups
// FULL, the default): the detail with its state history.
func (s *Server) handleGetReturn(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if fg := r.URL.Query().Get("fieldgroups"); fg != "" && fg != "FULL" && fg != "SUMMARY" {
		postOrderError(w, http.StatusBadRequest, 1702, "Invalid fieldgroups: "+fg)
		return
	}
	s.mu.Lock()
	ret, ok := s.returns[id]
	var history []map[string]any
	if ok {
		for i := 1; i < len(ret.history); i++ {
			history = append(history, map[string]any{
				"fromState": ret.history[i-1], "toState": ret.history[i],
				"activity": "RETURN_" + strings.ToUpper(ret.history[i]),
			})
		}
	}
	s.mu.Unlock()
	if !ok {
		postOrderError(w, http.StatusNotFound, 1701, "The return "+id+" does not exist")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"detail": map[string]any{"responseHistory": history}})
}
