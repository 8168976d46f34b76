package amazon

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
)

const (
	feedType        = "JSON_LISTINGS_FEED"
	feedContentType = "application/json; charset=UTF-8"
	// maxReport bounds a downloaded processing report (25,000 messages
	// with a few issues each stay far below it).
	maxReport = 256 << 20
)

// Feed processing states (getFeed's processingStatus).
const (
	feedDone      = "DONE"
	feedFatal     = "FATAL"
	feedCancelled = "CANCELLED"
	feedTimeout   = "TIMEOUT" // ours: still processing when the wait ended
)

type createDocumentResponse struct {
	FeedDocumentID string `json:"feedDocumentId"`
	URL            string `json:"url"`
}

type createFeedRequest struct {
	FeedType            string   `json:"feedType"`
	MarketplaceIDs      []string `json:"marketplaceIds"`
	InputFeedDocumentID string   `json:"inputFeedDocumentId"`
}

type feedStatus struct {
	FeedID               string `json:"feedId"`
	ProcessingStatus     string `json:"processingStatus"`
	ResultFeedDocumentID string `json:"resultFeedDocumentId"`
}

type feedDocumentInfo struct {
	FeedDocumentID       string `json:"feedDocumentId"`
	URL                  string `json:"url"`
	CompressionAlgorithm string `json:"compressionAlgorithm"`
}

// buildFeed makes the JSON_LISTINGS_FEED of updates: message i+1 is updates[i].
func (c *Connector) buildFeed(updates []connectors.QuantityUpdate) *feedDocument {
	d := &feedDocument{Messages: make([]feedMessage, len(updates))}
	d.Header.SellerID, d.Header.Version, d.Header.IssueLocale = c.sellerID, "2.0", "en_US"
	for i, u := range updates {
		d.Messages[i] = feedMessage{
			MessageID:     int64(i + 1),
			SKU:           u.SKU,
			OperationType: "PATCH",
			ProductType:   c.productType,
			Patches:       quantityPatch(u.Quantity),
		}
	}
	return d
}

// pushFeed sends updates as one feed and reads each message's result from
// its processing report: createFeedDocument, upload, createFeed, getFeed
// until processed, getFeedDocument, download.
func (c *Connector) pushFeed(ctx context.Context, updates []connectors.QuantityUpdate) ([]connectors.PushResult, error) {
	body, err := json.Marshal(c.buildFeed(updates))
	if err != nil {
		return nil, fmt.Errorf("amazon feed: encoding: %w", err)
	}
	var doc createDocumentResponse
	if _, err := c.call(ctx, opCreateFeedDocument, http.MethodPost, "/feeds/2021-06-30/documents", nil,
		map[string]string{"contentType": feedContentType}, &doc); err != nil {
		return nil, fmt.Errorf("amazon feed: %w", err)
	}
	if doc.FeedDocumentID == "" || doc.URL == "" {
		return nil, fmt.Errorf("amazon feed: createFeedDocument answered without feedDocumentId or url")
	}
	if err := c.transfer(ctx, http.MethodPut, doc.URL, body, nil); err != nil {
		return nil, fmt.Errorf("amazon feed: uploading document %s: %w", doc.FeedDocumentID, err)
	}
	if err := c.limits.feed.Wait(ctx); err != nil {
		return nil, fmt.Errorf("amazon feed: waiting for the feed window: %w", err)
	}
	var created feedStatus
	if _, err := c.call(ctx, opCreateFeed, http.MethodPost, "/feeds/2021-06-30/feeds", nil, createFeedRequest{
		FeedType: feedType, MarketplaceIDs: c.marketplace, InputFeedDocumentID: doc.FeedDocumentID,
	}, &created); err != nil {
		return nil, fmt.Errorf("amazon feed: %w", err)
	}
	if created.FeedID == "" {
		return nil, fmt.Errorf("amazon feed: createFeed answered without feedId")
	}
	st, err := c.waitFeed(ctx, created.FeedID)
	if err != nil {
		return nil, fmt.Errorf("amazon feed %s: %w", created.FeedID, err)
	}
	c.metrics.feeds.WithLabelValues(st.ProcessingStatus).Inc()
	var rep *report
	if st.ResultFeedDocumentID != "" && (st.ProcessingStatus == feedDone || st.ProcessingStatus == feedFatal) {
		if rep, err = c.readReport(ctx, st.ResultFeedDocumentID); err != nil {
			return nil, fmt.Errorf("amazon feed %s: %w", created.FeedID, err)
		}
	}
	return feedResults(created.FeedID, st.ProcessingStatus, updates, rep), nil
}

// feedResults gives each update its message's result. Without a report
// (a feed cancelled, fatal or still processing) nothing is known to have
// been applied, so every item is to be retried.
func feedResults(feedID, status string, updates []connectors.QuantityUpdate, rep *report) []connectors.PushResult {
	res := make([]connectors.PushResult, len(updates))
	var failed map[int64]string
	if rep != nil {
		failed = rep.errorsByMessage()
	}
	for i, u := range updates {
		r := connectors.PushResult{SKU: u.SKU}
		reason, bad := failed[int64(i+1)]
		switch {
		case bad:
			r.Status, r.Reason = connectors.PushFailed, reason
		case status == feedDone:
			r.Status = connectors.PushAccepted
		default:
			r.Status, r.Reason = connectors.PushRetry, "feed "+feedID+" ended "+status
		}
		res[i] = r
	}
	return res
}

// waitFeed polls getFeed, the wait between polls doubling from feedPoll to
// feedPollMax, until the feed is processed or feedWait has been waited.
func (c *Connector) waitFeed(ctx context.Context, feedID string) (*feedStatus, error) {
	delay, waited := c.feedPoll, time.Duration(0)
	for {
		var st feedStatus
		if _, err := c.call(ctx, opGetFeed, http.MethodGet, "/feeds/2021-06-30/feeds/"+url.PathEscape(feedID), nil, nil, &st); err != nil {
			return nil, err
		}
		switch st.ProcessingStatus {
		case feedDone, feedFatal, feedCancelled:
			return &st, nil
		}
		if waited >= c.feedWait {
			c.log.Warn().Str("feed_id", feedID).Str("status", st.ProcessingStatus).Dur("waited", waited).Msg("feed still processing; its items will be pushed again")
			st.ProcessingStatus = feedTimeout
			return &st, nil
		}
		if err := connectors.WaitContext(ctx, delay); err != nil {
			return nil, err
		}
		waited += delay
		delay = min(delay*2, c.feedPollMax)
	}
}

// readReport fetches and parses a feed's processing report.
func (c *Connector) readReport(ctx context.Context, documentID string) (*report, error) {
	var info feedDocumentInfo
	if _, err := c.call(ctx, opGetFeedDocument, http.MethodGet, "/feeds/2021-06-30/documents/"+url.PathEscape(documentID), nil, nil, &info); err != nil {
		return nil, fmt.Errorf("report document: %w", err)
	}
	var raw bytes.Buffer
	if err := c.transfer(ctx, http.MethodGet, info.URL, nil, &raw); err != nil {
		return nil, fmt.Errorf("downloading report %s: %w", documentID, err)
	}
	data := raw.Bytes()
	if strings.EqualFold(info.CompressionAlgorithm, "GZIP") {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("report %s: gzip: %w", documentID, err)
		}
		if data, err = io.ReadAll(io.LimitReader(zr, maxReport)); err != nil {
			return nil, fmt.Errorf("report %s: gzip: %w", documentID, err)
		}
	}
	return decodeReport(data)
}

// transfer moves a feed document to or from Amazon's pre-signed storage
// URL. It carries no access token: the URL is its own authorization.
func (c *Connector) transfer(ctx context.Context, method, u string, body []byte, into *bytes.Buffer) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		// The URL is pre-signed: keep its query out of the error.
		return fmt.Errorf("bad document URL")
	}
	if body != nil {
		req.Header.Set("Content-Type", feedContentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// A *url.Error would print the pre-signed URL: keep only its cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("%s document: %w", method, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%s document: HTTP %d", method, resp.StatusCode)
	}
	if into == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		return nil
	}
	if _, err := io.Copy(into, io.LimitReader(resp.Body, maxReport)); err != nil {
		return fmt.Errorf("%s document: %w", method, err)
	}
	return nil
}
