package amazontest

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"
)

// document is a feed document or processing report in the fake's storage.
type document struct {
	contentType string
	signature   string
	data        []byte
	gzip        bool
}

type feed struct {
	id        string
	inputDoc  string
	status    string
	polls     int
	reportDoc string
	fatal     bool
	created   time.Time
}

// FailNextFeeds makes the next n feeds end FATAL without a report.
func (s *Server) FailNextFeeds(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failFeeds = n
}

// Feeds is how many feeds were created.
func (s *Server) Feeds() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.feeds)
}

// storageURL is a document's pre-signed URL.
func (s *Server) storageURL(id string, d *document) string {
	return s.URL + "/_storage/" + id + "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=" + d.signature
}

func (s *Server) handleCreateDocument(w http.ResponseWriter, r *http.Request) {
	var body struct {
		ContentType string `json:"contentType"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.ContentType == "" {
		writeErrors(w, http.StatusBadRequest, "InvalidInput", "contentType is required.")
		return
	}
	s.mu.Lock()
	id := "amzn1.tortuga.4.na." + strconv.Itoa(s.nextSeq())
	d := &document{contentType: body.ContentType, signature: s.newID()}
	s.docs[id] = d
	u := s.storageURL(id, d)
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]string{"feedDocumentId": id, "url": u})
}

// storedDocument finds a document whose pre-signed URL was used, as S3 would.
func (s *Server) storedDocument(w http.ResponseWriter, r *http.Request) *document {
	s.mu.Lock()
	d, ok := s.docs[r.PathValue("id")]
	s.mu.Unlock()
	if !ok || r.URL.Query().Get("X-Amz-Signature") != d.signature {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, "<Error><Code>SignatureDoesNotMatch</Code></Error>")
		return nil
	}
	return d
}

func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request) {
	d := s.storedDocument(w, r)
	if d == nil {
		return
	}
	if r.Header.Get("x-amz-access-token") != "" {
		// A pre-signed URL takes no SP-API token; sending it leaks it to storage.
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if r.Header.Get("Content-Type") != d.contentType {
		// The content type is part of the pre-signed request.
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, "<Error><Code>SignatureDoesNotMatch</Code></Error>")
		return
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, 512<<20))
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	d.data = data
	s.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func (s *Server) handleDownload(w http.ResponseWriter, r *http.Request) {
	d := s.storedDocument(w, r)
	if d == nil {
		return
	}
	s.mu.Lock()
	data := d.data
	s.mu.Unlock()
	w.Header().Set("Content-Type", d.contentType)
	_, _ = w.Write(data)
}

func (s *Server) handleCreateFeed(w http.ResponseWriter, r *http.Request) {
	var body struct {
		FeedType            string   `json:"feedType"`
		MarketplaceIDs      []string `json:"marketplaceIds"`
		InputFeedDocumentID string   `json:"inputFeedDocumentId"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeErrors(w, http.StatusBadRequest, "InvalidInput", "Request body is not valid JSON.")
		return
	}
	if body.FeedType != "JSON_LISTINGS_FEED" || len(body.MarketplaceIDs) == 0 {
		writeErrors(w, http.StatusBadRequest, "InvalidInput", "feedType JSON_LISTINGS_FEED and marketplaceIds are required.")
		return
	}
	// JSON_LISTINGS_FEED has a limit of its own, on top of createFeed's.
	if !s.limits.allow(FeedTypeListings) {
		s.mu.Lock()
		s.throttled[FeedTypeListings]++
		s.mu.Unlock()
		writeQuotaExceeded(w)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.docs[body.InputFeedDocumentID]
	if !ok || d.data == nil {
		writeErrors(w, http.StatusBadRequest, "InvalidInput", "inputFeedDocumentId is unknown or was not uploaded.")
		return
	}
	f := &feed{id: strconv.Itoa(50000 + s.nextSeq()), inputDoc: body.InputFeedDocumentID, status: "IN_QUEUE", created: s.opts.Now()}
	if s.failFeeds > 0 {
		s.failFeeds--
		f.fatal = true
	}
	s.feeds[f.id] = f
	writeJSON(w, http.StatusAccepted, map[string]string{"feedId": f.id})
}

func (s *Server) handleGetFeed(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.feeds[r.PathValue("id")]
	if !ok {
		writeErrors(w, http.StatusNotFound, "NotFound", "The feed was not found.")
		return
	}
	f.polls++
	switch {
	case f.status == "DONE" || f.status == "FATAL":
	case f.polls > s.opts.FeedPolls:
		s.processFeed(f)
	default:
		f.status = "IN_PROGRESS"
	}
	resp := map[string]any{
		"feedId": f.id, "feedType": "JSON_LISTINGS_FEED", "marketplaceIds": []string{DefaultMarketplace},
		"createdTime": f.created.UTC().Format(time.RFC3339), "processingStatus": f.status,
	}
	if f.reportDoc != "" {
		resp["resultFeedDocumentId"] = f.reportDoc
	}
	writeJSON(w, http.StatusOK, resp)
}

type feedMessage struct {
	MessageID     int64           `json:"messageId"`
	SKU           string          `json:"sku"`
	OperationType string          `json:"operationType"`
	ProductType   string          `json:"productType"`
	RawPatches    json.RawMessage `json:"patches"`
}

// feedDocument is a JSON_LISTINGS_FEED input document.
type feedDocument struct {
	Header struct {
		SellerID string `json:"sellerId"`
		Version  string `json:"version"`
	} `json:"header"`
	Messages []feedMessage `json:"messages"`
}

// feedReport is the tally of a feed's messages that its processing
// report carries.
type feedReport struct {
	issues            []map[string]any
	accepted, invalid int
}

// fail records a message's error in the report.
func (rep *feedReport) fail(m feedMessage, code, msg string) {
	rep.issues = append(rep.issues, map[string]any{"messageId": m.MessageID, "sku": m.SKU, "code": code, "severity": "ERROR", "message": msg})
	rep.invalid++
}

// processFeed applies a feed's messages and writes its report; s.mu is held.
func (s *Server) processFeed(f *feed) {
	doc, ok := s.readFeedDocument(f)
	if !ok {
		f.status = "FATAL"
		return
	}
	var rep feedReport
	for _, m := range doc.Messages {
		s.applyFeedMessage(&rep, m)
	}
	f.reportDoc, f.status = s.storeFeedReport(f, len(doc.Messages), &rep), "DONE"
}

// readFeedDocument decodes a feed's input document; a feed told to fail, an
// unreadable document or a header for another seller or version is fatal,
// as Amazon ends such feeds without a report. s.mu is held.
func (s *Server) readFeedDocument(f *feed) (*feedDocument, bool) {
	var doc feedDocument
	if f.fatal || json.Unmarshal(s.docs[f.inputDoc].data, &doc) != nil || doc.Header.SellerID != s.opts.SellerID || doc.Header.Version != "2.0" {
		return nil, false
	}
	return &doc, true
}

// applyFeedMessage applies one message's quantity, or records why it was
// refused; s.mu is held.
func (s *Server) applyFeedMessage(rep *feedReport, m feedMessage) {
	pb := patchBody{ProductType: m.ProductType}
	if m.OperationType != "PATCH" || json.Unmarshal(m.RawPatches, &pb.Patches) != nil {
		rep.fail(m, "4000001", "Only PATCH messages with patches are supported by this fake.")
		return
	}
	q, found, bad := pb.defaultQuantity()
	_, exists := s.listings[m.SKU]
	reason, refused := s.failSKUs[m.SKU]
	switch {
	case bad != "":
		rep.fail(m, "4000001", bad)
	case !exists:
		rep.fail(m, "4000002", "SKU "+m.SKU+" does not exist.")
	case refused:
		rep.fail(m, "90000900", reason)
	default:
		if found {
			s.listings[m.SKU] = q
		}
		rep.accepted++
	}
}

// storeFeedReport stores a feed's processing report as a document
// (gzipped when Options.GzipReports asks) and returns its id; s.mu is held.
func (s *Server) storeFeedReport(f *feed, processed int, rep *feedReport) string {
	data, _ := json.Marshal(map[string]any{
		"header": map[string]any{"sellerId": s.opts.SellerID, "version": "2.0", "feedId": f.id},
		"issues": rep.issues,
		"summary": map[string]any{
			"errors": len(rep.issues), "warnings": 0, "messagesProcessed": processed,
			"messagesAccepted": rep.accepted, "messagesInvalid": rep.invalid,
		},
	})
	d := &document{contentType: "application/json", signature: s.newID(), gzip: s.opts.GzipReports}
	if d.gzip {
		data = gzipped(data)
	}
	d.data = data
	id := "amzn1.tortuga.4.na.report." + strconv.Itoa(s.nextSeq())
	s.docs[id] = d
	return id
}

// gzipped compresses data with gzip.
func gzipped(data []byte) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, _ = zw.Write(data)
	_ = zw.Close()
	return b.Bytes()
}

func (s *Server) handleGetDocument(w http.ResponseWriter, r *http.Request) {
	s.serveDocument(w, r.PathValue("id"), "feedDocumentId", "feed")
}

// serveDocument answers getFeedDocument and getReportDocument: the
// document's id under idField, its pre-signed URL, and
// compressionAlgorithm GZIP when it is compressed; 404 when unknown.
func (s *Server) serveDocument(w http.ResponseWriter, id, idField, what string) {
	s.mu.Lock()
	d, ok := s.docs[id]
	var resp map[string]any
	if ok {
		resp = map[string]any{idField: id, "url": s.storageURL(id, d)}
		if d.gzip {
			resp["compressionAlgorithm"] = "GZIP"
		}
	}
	s.mu.Unlock()
	if !ok {
		writeErrors(w, http.StatusNotFound, "NotFound", "The "+what+" document was not found.")
		return
	}
	writeJSON(w, http.StatusOK, resp)
}
