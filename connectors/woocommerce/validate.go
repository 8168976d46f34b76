package woocommerce

import (
	"errors"
	"fmt"
	"net/http"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/shelfsync/shelfsync/connectors"
)

// MaxQuantity is the largest quantity an order line may carry. It mirrors
// the ledger's bound (inventory.MaxQuantity, ±10^12, where Lua's doubles
// stay exact): connectors do not import the ledger, so the figure is kept
// here too and must move with it.
const MaxQuantity = 1_000_000_000_000

// MaxClockSkew is how far past the connector's clock an order's version
// (date_modified_gmt) may be. The ledger keeps the newest version of an
// order and ignores older ones, so a version from the future would block
// every later state of the order until the clock caught up. It is the
// allowance ingest refuses beyond too (sync/ingest.MaxClockSkew).
const MaxClockSkew = 5 * time.Minute

// refusal is an order or refund the ledger would refuse: it is never
// handed on. reason is a bounded metric label: quantity, identifier,
// version.
type refusal struct {
	reason string
	err    error
}

func (r *refusal) Error() string { return r.err.Error() }
func (r *refusal) Unwrap() error { return r.err }

func refuse(reason, format string, args ...any) error {
	return &refusal{reason: reason, err: fmt.Errorf(format, args...)}
}

// refusalReason is the reason of a refusal in err's chain ("" if none).
func refusalReason(err error) string {
	var r *refusal
	if errors.As(err, &r) {
		return r.reason
	}
	return ""
}

// webhookRefusal is the 400 that answers a verified delivery whose body
// can not be read ("malformed") or holds what the ledger would refuse
// ("invalid_quantity", "invalid_identifier", "invalid_version").
func webhookRefusal(err error) error {
	reason := "malformed"
	if r := refusalReason(err); r != "" {
		reason = "invalid_" + r
	}
	return &connectors.WebhookError{Status: http.StatusBadRequest, Reason: reason, Err: err}
}

// checkQuantity refuses a quantity below 0 or above MaxQuantity.
func checkQuantity(what string, q int64) error {
	if q < 0 {
		return refuse("quantity", "%s %d is negative", what, q)
	}
	if q > MaxQuantity {
		return refuse("quantity", "%s %d exceeds %d", what, q, int64(MaxQuantity))
	}
	return nil
}

// checkSKU refuses a SKU the ledger could not key: not UTF-8, holding a
// control character (C0 — the ledger's field separator 0x1f among them —,
// DEL, C1), or "." / ".." (path segments of the admin API).
func checkSKU(v string) error {
	if !utf8.ValidString(v) {
		return refuse("identifier", "sku %q is not UTF-8", v)
	}
	for _, r := range v {
		if unicode.IsControl(r) {
			return refuse("identifier", "sku %q holds the control character %U", v, r)
		}
	}
	if v == "." || v == ".." {
		return refuse("identifier", "sku %q can not be addressed in a URL path", v)
	}
	return nil
}

// checkVersionFloor refuses a version before 1970: the ledger's versions
// are Unix milliseconds, never negative.
func checkVersionFloor(what string, t time.Time) error {
	if t.UnixMilli() < 0 {
		return refuse("version", "%s %s is before 1970", what, t.Format(time.RFC3339))
	}
	return nil
}

// checkVersion is checkVersionFloor, and refuses a version further than
// MaxClockSkew past now.
func checkVersion(what string, t, now time.Time) error {
	if err := checkVersionFloor(what, t); err != nil {
		return err
	}
	if limit := now.Add(MaxClockSkew); t.After(limit) {
		return refuse("version", "%s %s is in the future: later than the clock (%s) by more than %s",
			what, t.Format(time.RFC3339), now.UTC().Format(time.RFC3339), MaxClockSkew)
	}
	return nil
}
