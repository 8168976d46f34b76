package amazon

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Listings Items API 2021-08-01 and JSON_LISTINGS_FEED shapes: the
// fulfillment_availability patch, what patchListingsItem and
// getListingsItem answer, and the feed's document and processing report.

// defaultChannel is the fulfillment channel code of merchant-fulfilled stock.
const defaultChannel = "DEFAULT"

type availability struct {
	FulfillmentChannelCode string `json:"fulfillment_channel_code"`
	Quantity               int64  `json:"quantity"`
}

type patch struct {
	Op    string         `json:"op"`
	Path  string         `json:"path"`
	Value []availability `json:"value"`
}

// quantityPatch merges the DEFAULT channel's quantity: merge, unlike
// replace, leaves the other fulfillment channels' entries alone.
func quantityPatch(q int64) []patch {
	return []patch{{
		Op:    "merge",
		Path:  "/attributes/fulfillment_availability",
		Value: []availability{{FulfillmentChannelCode: defaultChannel, Quantity: q}},
	}}
}

// patchRequest is patchListingsItem's body.
type patchRequest struct {
	ProductType string  `json:"productType"`
	Patches     []patch `json:"patches"`
}

type issue struct {
	MessageID     int64    `json:"messageId,omitempty"`
	SKU           string   `json:"sku,omitempty"`
	Code          string   `json:"code"`
	Message       string   `json:"message"`
	Severity      string   `json:"severity"`
	AttributeName string   `json:"attributeName,omitempty"`
	Categories    []string `json:"categories,omitempty"`
}

// patchResponse is patchListingsItem's answer.
type patchResponse struct {
	SKU          string  `json:"sku"`
	Status       string  `json:"status"`
	SubmissionID string  `json:"submissionId"`
	Issues       []issue `json:"issues"`
}

func decodePatchResponse(data []byte) (*patchResponse, error) {
	var r patchResponse
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("patchListingsItem response: %w", err)
	}
	if r.Status == "" {
		return nil, fmt.Errorf("patchListingsItem response without status")
	}
	return &r, nil
}

// listingsItem is getListingsItem's answer with includedData=fulfillmentAvailability.
type listingsItem struct {
	SKU                     string `json:"sku"`
	FulfillmentAvailability []struct {
		FulfillmentChannelCode string `json:"fulfillmentChannelCode"`
		Quantity               *int64 `json:"quantity"`
	} `json:"fulfillmentAvailability"`
}

// merchantQuantity is the DEFAULT channel's quantity, if the listing has one.
func (l *listingsItem) merchantQuantity() (int64, bool) {
	for _, fa := range l.FulfillmentAvailability {
		if fa.FulfillmentChannelCode == defaultChannel && fa.Quantity != nil {
			return *fa.Quantity, true
		}
	}
	return 0, false
}

// feedDocument is a JSON_LISTINGS_FEED (listings feed schema v2).
type feedDocument struct {
	Header struct {
		SellerID    string `json:"sellerId"`
		Version     string `json:"version"`
		IssueLocale string `json:"issueLocale,omitempty"`
	} `json:"header"`
	Messages []feedMessage `json:"messages"`
}

type feedMessage struct {
	MessageID     int64   `json:"messageId"`
	SKU           string  `json:"sku"`
	OperationType string  `json:"operationType"`
	ProductType   string  `json:"productType,omitempty"`
	Patches       []patch `json:"patches,omitempty"`
	// Attributes is PARTIAL_UPDATE's and UPDATE's body; the pusher sends
	// only PATCH, but a saved feed may hold any of them.
	Attributes map[string]json.RawMessage `json:"attributes,omitempty"`
}

func decodeFeedDocument(data []byte) (*feedDocument, error) {
	var d feedDocument
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("listings feed document: %w", err)
	}
	if d.Header.SellerID == "" || d.Header.Version == "" {
		return nil, fmt.Errorf("listings feed document: header needs sellerId and version")
	}
	for i, m := range d.Messages {
		if m.MessageID == 0 || m.SKU == "" || m.OperationType == "" {
			return nil, fmt.Errorf("listings feed document: message %d needs messageId, sku and operationType", i)
		}
	}
	return &d, nil
}

// report is a JSON_LISTINGS_FEED processing report.
type report struct {
	Header struct {
		SellerID string `json:"sellerId"`
		FeedID   string `json:"feedId"`
	} `json:"header"`
	Issues  []issue `json:"issues"`
	Summary struct {
		Errors            int `json:"errors"`
		Warnings          int `json:"warnings"`
		MessagesProcessed int `json:"messagesProcessed"`
		MessagesAccepted  int `json:"messagesAccepted"`
		MessagesInvalid   int `json:"messagesInvalid"`
	} `json:"summary"`
}

func decodeReport(data []byte) (*report, error) {
	var r report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("listings feed processing report: %w", err)
	}
	return &r, nil
}

// errorsByMessage gathers each message's ERROR issues into one reason;
// warnings do not fail a message.
func (r *report) errorsByMessage() map[int64]string {
	out := map[int64]string{}
	for _, is := range r.Issues {
		if !strings.EqualFold(is.Severity, "ERROR") {
			continue
		}
		reason := is.Code + ": " + is.Message
		if prev, ok := out[is.MessageID]; ok {
			reason = prev + "; " + reason
		}
		out[is.MessageID] = reason
	}
	return out
}

// issueReason joins the ERROR issues of a patch answer.
func issueReason(issues []issue) string {
	var parts []string
	for _, is := range issues {
		if strings.EqualFold(is.Severity, "ERROR") {
			parts = append(parts, is.Code+": "+is.Message)
		}
	}
	if len(parts) == 0 {
		for _, is := range issues {
			parts = append(parts, is.Code+": "+is.Message)
		}
	}
	return strings.Join(parts, "; ")
}
