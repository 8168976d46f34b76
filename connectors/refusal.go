package connectors

import (
	"errors"
	"fmt"
	"net/http"
	"time"
	"unicode"
	"unicode/utf8"
)

// MaxQuantity is the largest quantity an order line or a listing may carry.
// It mirrors the ledger's bound (inventory.MaxQuantity, ±10^12, where Lua's
// doubles stay exact): connectors do not import the ledger, so the figure
// is kept here too and must move with it.
const MaxQuantity = 1_000_000_000_000

// MaxClockSkew is how far past the connector's clock an order's version may
// be. The ledger keeps the newest version of an order and ignores older
// ones, so a version from the future would block every later state of the
// order until the clock caught up. It is the allowance ingest refuses
// beyond too (sync/ingest.MaxClockSkew): refused in the connector, such an
// order never gets that far.
const MaxClockSkew = 5 * time.Minute

// refusal is an order, refund or listing the ledger would refuse: it is
// never handed on. reason is a bounded metric label: quantity, identifier,
// version.
type refusal struct {
	reason string
	err    error
}

func (r *refusal) Error() string { return r.err.Error() }
func (r *refusal) Unwrap() error { return r.err }

// Refuse is an error saying what the ledger would refuse, with its reason
// (a bounded metric label: quantity, identifier, version).
func Refuse(reason, format string, args ...any) error {
	return &refusal{reason: reason, err: fmt.Errorf(format, args...)}
}

// RefusalReason is the reason of a Refuse error in err's chain ("" if none).
func RefusalReason(err error) string {
	var r *refusal
	if errors.As(err, &r) {
		return r.reason
	}
	return ""
}

// WebhookRefusal is the 400 that answers a verified delivery whose body can
// not be read ("malformed") or holds what the ledger would refuse
// ("invalid_quantity", "invalid_identifier", "invalid_version").
func WebhookRefusal(err error) error {
	reason := "malformed"
	if r := RefusalReason(err); r != "" {
		reason = "invalid_" + r
	}
	return &WebhookError{Status: http.StatusBadRequest, Reason: reason, Err: err}
}

// CheckQuantity refuses a quantity below 0 or above MaxQuantity.
func CheckQuantity(what string, q int64) error {
	if q < 0 {
		return Refuse("quantity", "%s %d is negative", what, q)
	}
	if q > MaxQuantity {
		return Refuse("quantity", "%s %d exceeds %d", what, q, int64(MaxQuantity))
	}
	return nil
}

// CheckLevel refuses a listed quantity past ±MaxQuantity. A level below
// zero can be the channel's own (an oversold item): it is taken.
func CheckLevel(what string, q int64) error {
	if q > MaxQuantity || q < -MaxQuantity {
		return Refuse("quantity", "%s %d is past ±%d", what, q, int64(MaxQuantity))
	}
	return nil
}

// CheckID refuses an identifier the ledger could not key: empty, not
// UTF-8, or holding a control character (C0, DEL, C1; the ledger's field
// separator 0x1f among them).
func CheckID(what, v string) error {
	if v == "" {
		return Refuse("identifier", "%s is empty", what)
	}
	if !utf8.ValidString(v) {
		return Refuse("identifier", "%s %q is not UTF-8", what, v)
	}
	for _, r := range v {
		if unicode.IsControl(r) {
			return Refuse("identifier", "%s %q holds the control character %U", what, v, r)
		}
	}
	return nil
}

// CheckSKU is CheckID, and refuses "." and ".." as the ledger does (they
// are path segments of the admin API).
func CheckSKU(v string) error {
	if err := CheckID("sku", v); err != nil {
		return err
	}
	if v == "." || v == ".." {
		return Refuse("identifier", "sku %q can not be addressed in a URL path", v)
	}
	return nil
}

// CheckVersionFloor refuses a version before 1970: the ledger's versions
// are Unix milliseconds, never negative.
func CheckVersionFloor(what string, t time.Time) error {
	if t.UnixMilli() < 0 {
		return Refuse("version", "%s %s is before 1970", what, t.Format(time.RFC3339))
	}
	return nil
}

// CheckVersion is CheckVersionFloor, and refuses a version further than
// MaxClockSkew past now.
func CheckVersion(what string, t, now time.Time) error {
	if err := CheckVersionFloor(what, t); err != nil {
		return err
	}
	if limit := now.Add(MaxClockSkew); t.After(limit) {
		return Refuse("version", "%s %s is in the future: later than the clock (%s) by more than %s",
			what, t.Format(time.RFC3339), now.UTC().Format(time.RFC3339), MaxClockSkew)
	}
	return nil
}
