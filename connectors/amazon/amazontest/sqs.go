package amazontest

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// The SQS fake speaks the AWS JSON 1.0 protocol of the AWS SDK for Go v2:
// POST / with X-Amz-Target: AmazonSQS.<Action>, Content-Type
// application/x-amz-json-1.0, SigV4-signed. It has one standard queue,
// with visibility timeouts and long polling.

type message struct {
	id        string
	body      string
	receipt   string // the handle of the latest receive
	visibleAt time.Time
	received  int
	sentAt    time.Time
}

type queue struct {
	url string

	mu       sync.Mutex
	msgs     []*message
	arrived  chan struct{} // closed and replaced when a message is sent
	sequence int
}

func newQueue(url string) *queue {
	return &queue{url: url, arrived: make(chan struct{})}
}

// QueueURL is the fake queue's URL (amazon.sqs.queue_url).
func (s *Server) QueueURL() string { return s.queue.url }

// SendMessage puts body on the queue, as Amazon does with a notification,
// and returns the message id.
func (s *Server) SendMessage(body string) string {
	q := s.queue
	q.mu.Lock()
	defer q.mu.Unlock()
	q.sequence++
	m := &message{id: "msg-" + strconv.Itoa(q.sequence) + "-" + s.newID(), body: body, sentAt: time.Now()}
	q.msgs = append(q.msgs, m)
	close(q.arrived)
	q.arrived = make(chan struct{})
	return m.id
}

// QueueDepth is the number of messages not yet deleted, and how many of
// them are received and invisible.
func (s *Server) QueueDepth() (total, inFlight int) {
	q := s.queue
	q.mu.Lock()
	defer q.mu.Unlock()
	now := time.Now()
	for _, m := range q.msgs {
		if m.visibleAt.After(now) {
			inFlight++
		}
	}
	return len(q.msgs), inFlight
}

// Received is how often the message with id was received (0 if unknown or deleted).
func (s *Server) Received(id string) int {
	q := s.queue
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, m := range q.msgs {
		if m.id == id {
			return m.received
		}
	}
	return 0
}

func writeAWSError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("x-amzn-query-error", typ+";Sender")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": "com.amazonaws.sqs#" + typ, "message": msg})
}

func writeAWSJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	_ = json.NewEncoder(w).Encode(v)
}

// sqsInput is the request body of every action the fake serves, each
// reading its own fields.
type sqsInput struct {
	QueueURL            string `json:"QueueUrl"`
	MaxNumberOfMessages int    `json:"MaxNumberOfMessages"`
	WaitTimeSeconds     int    `json:"WaitTimeSeconds"`
	ReceiptHandle       string `json:"ReceiptHandle"`
	MessageBody         string `json:"MessageBody"`
	Entries             []struct {
		ID            string `json:"Id"`
		ReceiptHandle string `json:"ReceiptHandle"`
	} `json:"Entries"`
}

func (s *Server) handleSQS(w http.ResponseWriter, r *http.Request) {
	action, in, ok := s.readSQSRequest(w, r)
	if !ok {
		return
	}
	switch action {
	case "SendMessage":
		s.sqsSendMessage(w, in)
	case "ReceiveMessage":
		s.sqsReceiveMessage(w, r, in)
	case "DeleteMessage":
		s.sqsDeleteMessage(w, in)
	case "DeleteMessageBatch":
		s.sqsDeleteMessageBatch(w, in)
	case "GetQueueAttributes": // shelfsync check resolves the queue
		writeAWSJSON(w, map[string]any{"Attributes": map[string]string{"QueueArn": "arn:aws:sqs:us-east-1:000000000000:shelfsync-fake"}})
	default:
		writeAWSError(w, http.StatusBadRequest, "UnsupportedOperation", action+" is not supported by this fake.")
	}
}

// readSQSRequest checks what every action shares (the target, the
// content type, SigV4 over the body, the queue) and reads the action and
// its input; when it answers false it has written the error.
func (s *Server) readSQSRequest(w http.ResponseWriter, r *http.Request) (string, *sqsInput, bool) {
	action, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "AmazonSQS.")
	if !ok {
		writeAWSError(w, http.StatusBadRequest, "UnknownOperationException", "X-Amz-Target must name an AmazonSQS operation.")
		return "", nil, false
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-amz-json-1.0") {
		writeAWSError(w, http.StatusBadRequest, "InvalidParameterValue", "Content-Type must be application/x-amz-json-1.0.")
		return "", nil, false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeAWSError(w, http.StatusBadRequest, "InvalidParameterValue", "unreadable body")
		return "", nil, false
	}
	if msg := s.verifySigV4(r, body); msg != "" {
		writeAWSError(w, http.StatusForbidden, "SignatureDoesNotMatch", msg)
		return "", nil, false
	}
	var in sqsInput
	if err := json.Unmarshal(body, &in); err != nil {
		writeAWSError(w, http.StatusBadRequest, "InvalidParameterValue", "body is not JSON")
		return "", nil, false
	}
	if in.QueueURL != s.queue.url {
		writeAWSError(w, http.StatusBadRequest, "QueueDoesNotExist", "The specified queue does not exist.")
		return "", nil, false
	}
	return action, &in, true
}

func (s *Server) sqsSendMessage(w http.ResponseWriter, in *sqsInput) {
	if in.MessageBody == "" {
		writeAWSError(w, http.StatusBadRequest, "MissingParameter", "MessageBody is required.")
		return
	}
	id := s.SendMessage(in.MessageBody)
	writeAWSJSON(w, map[string]string{"MessageId": id, "MD5OfMessageBody": md5Hex(in.MessageBody)})
}

// sqsReceiveMessage takes up to MaxNumberOfMessages (default 1, at most
// 10), long polling up to WaitTimeSeconds (at most 20).
func (s *Server) sqsReceiveMessage(w http.ResponseWriter, r *http.Request, in *sqsInput) {
	n := in.MaxNumberOfMessages
	if n == 0 {
		n = 1
	}
	if n < 1 || n > 10 || in.WaitTimeSeconds < 0 || in.WaitTimeSeconds > 20 {
		writeAWSError(w, http.StatusBadRequest, "InvalidParameterValue", "MaxNumberOfMessages must be 1-10 and WaitTimeSeconds 0-20.")
		return
	}
	msgs := s.receive(r, n, time.Duration(in.WaitTimeSeconds)*time.Second)
	writeAWSJSON(w, map[string]any{"Messages": msgs})
}

func (s *Server) sqsDeleteMessage(w http.ResponseWriter, in *sqsInput) {
	if !s.deleteMessage(in.ReceiptHandle) {
		writeAWSError(w, http.StatusBadRequest, "ReceiptHandleIsInvalid", "The input receipt handle is invalid.")
		return
	}
	writeAWSJSON(w, map[string]any{})
}

// sqsDeleteMessageBatch deletes 1 to 10 messages, answering each entry's
// outcome apart, as SQS does.
func (s *Server) sqsDeleteMessageBatch(w http.ResponseWriter, in *sqsInput) {
	if len(in.Entries) == 0 || len(in.Entries) > 10 {
		writeAWSError(w, http.StatusBadRequest, "EmptyBatchRequest", "A batch holds 1 to 10 entries.")
		return
	}
	ok := []map[string]string{}
	failed := []map[string]any{}
	for _, e := range in.Entries {
		if s.deleteMessage(e.ReceiptHandle) {
			ok = append(ok, map[string]string{"Id": e.ID})
		} else {
			failed = append(failed, map[string]any{"Id": e.ID, "Code": "ReceiptHandleIsInvalid", "Message": "The input receipt handle is invalid.", "SenderFault": true})
		}
	}
	writeAWSJSON(w, map[string]any{"Successful": ok, "Failed": failed})
}

// receive takes up to n visible messages, waiting up to wait for the first.
func (s *Server) receive(r *http.Request, n int, wait time.Duration) []map[string]any {
	q := s.queue
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		q.mu.Lock()
		now := time.Now()
		var out []map[string]any
		for _, m := range q.msgs {
			if len(out) == n {
				break
			}
			if m.visibleAt.After(now) {
				continue
			}
			m.received++
			m.receipt = s.newID() + "-" + m.id
			m.visibleAt = now.Add(s.opts.VisibilityTimeout)
			out = append(out, map[string]any{
				"MessageId": m.id, "ReceiptHandle": m.receipt, "Body": m.body, "MD5OfBody": md5Hex(m.body),
				"Attributes": map[string]string{
					"ApproximateReceiveCount": strconv.Itoa(m.received),
					"SentTimestamp":           strconv.FormatInt(m.sentAt.UnixMilli(), 10),
				},
			})
		}
		arrived := q.arrived
		q.mu.Unlock()
		if len(out) > 0 {
			return out
		}
		select {
		case <-arrived:
		case <-deadline.C:
			return []map[string]any{}
		case <-r.Context().Done():
			return []map[string]any{}
		case <-s.closing:
			return []map[string]any{}
		}
	}
}

func (s *Server) deleteMessage(receipt string) bool {
	q := s.queue
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, m := range q.msgs {
		if receipt != "" && m.receipt == receipt {
			q.msgs = append(q.msgs[:i], q.msgs[i+1:]...)
			return true
		}
	}
	return false
}

// verifySigV4 signs the request again with the fake's AWS secret, over
// the headers the client said it signed, and compares: what SQS does.
// It returns what is wrong, or "".
func (s *Server) verifySigV4(r *http.Request, body []byte) string {
	auth := r.Header.Get("Authorization")
	rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return "missing SigV4 Authorization"
	}
	fields := map[string]string{}
	for _, f := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		fields[k] = v
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 || scope[0] != s.opts.AWSAccessKeyID || scope[3] != "sqs" {
		return "The security token included in the request is invalid."
	}
	at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return "missing X-Amz-Date"
	}
	req, err := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return "bad request"
	}
	req.Host = r.Host
	req.ContentLength = r.ContentLength
	for _, h := range strings.Split(fields["SignedHeaders"], ";") {
		if h == "host" || h == "content-length" {
			continue
		}
		if v, ok := r.Header[http.CanonicalHeaderKey(h)]; ok {
			req.Header[http.CanonicalHeaderKey(h)] = v
		}
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: s.opts.AWSAccessKeyID, SecretAccessKey: s.opts.AWSSecretAccessKey}
	if err := v4.NewSigner().SignHTTP(r.Context(), creds, req, hex.EncodeToString(sum[:]), "sqs", scope[2], at); err != nil {
		return "signing failed"
	}
	if !strings.Contains(req.Header.Get("Authorization"), "Signature="+fields["Signature"]) || fields["Signature"] == "" {
		return "The request signature we calculated does not match the signature you provided."
	}
	return ""
}

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}
