package connectors

import (
	"errors"
	"fmt"
	"net/http"
)

// ErrNotFound: the channel does not know the order, SKU or listing.
var ErrNotFound = errors.New("not found")

// ErrIgnored: a well-formed webhook of a topic that moves no stock.
var ErrIgnored = errors.New("topic ignored")

// WebhookError is a refused webhook delivery: the HTTP status to answer and
// a short, bounded reason (a metric label: "bad_signature", "malformed").
// Err is the detail for the log; it never holds a secret.
type WebhookError struct {
	Status int
	Reason string
	Err    error
}

func (e *WebhookError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("webhook refused (%d %s)", e.Status, e.Reason)
	}
	return fmt.Sprintf("webhook refused (%d %s): %v", e.Status, e.Reason, e.Err)
}

func (e *WebhookError) Unwrap() error { return e.Err }

// Unauthorized is a delivery whose signature or secret does not verify (401).
func Unauthorized(reason string, err error) error {
	return &WebhookError{Status: http.StatusUnauthorized, Reason: reason, Err: err}
}

// PreconditionFailed is eBay's answer to a bad signature (412).
func PreconditionFailed(reason string, err error) error {
	return &WebhookError{Status: http.StatusPreconditionFailed, Reason: reason, Err: err}
}

// Malformed is a delivery whose body or headers can not be read (400).
func Malformed(err error) error {
	return &WebhookError{Status: http.StatusBadRequest, Reason: "malformed", Err: err}
}
