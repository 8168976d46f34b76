package amazon

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
)

// QueueConnector is an Amazon connector with an SQS queue: Amazon delivers
// ORDER_CHANGE only to SQS, so this is the connector New returns when
// amazon.sqs.queue_url is set. It adds Runner to every role of Connector.
type QueueConnector struct {
	*Connector
	queue *queue
}

var _ connectors.Runner = (*QueueConnector)(nil)

// queueAPI is the part of the SQS client the runner uses.
type queueAPI interface {
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessageBatch(ctx context.Context, in *sqs.DeleteMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error)
}

type queue struct {
	api         queueAPI
	url         string
	wait        int32
	maxMessages int32
	// minBackoff and maxBackoff pace the retries after a failed receive or Put.
	minBackoff, maxBackoff time.Duration
}

func newQueue(cr config.Credentials, s SQS) (*queue, error) {
	client, err := newSQSClient(cr, s)
	if err != nil {
		return nil, fmt.Errorf("amazon: %w", err)
	}
	return &queue{
		api: client, url: s.QueueURL,
		wait: int32(s.WaitTime / time.Second), maxMessages: int32(s.MaxMessages),
		minBackoff: time.Second, maxBackoff: time.Minute,
	}, nil
}

// Run implements connectors.Runner: it long-polls the queue and hands each
// batch's events to sink; a message is deleted only after sink.Put
// returned nil, so a crash or a failed Put leaves it to come back after
// its visibility timeout. Failures are logged here and retried with backoff.
func (q *QueueConnector) Run(ctx context.Context, sink connectors.EventSink) error {
	backoff := q.queue.minBackoff
	for ctx.Err() == nil {
		out, err := q.queue.api.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:            aws.String(q.queue.url),
			MaxNumberOfMessages: q.queue.maxMessages,
			WaitTimeSeconds:     q.queue.wait,
		})
		if err == nil && len(out.Messages) > 0 {
			err = q.handle(ctx, sink, out.Messages)
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			q.log.Warn().Err(err).Dur("retry_in", backoff).Msg("amazon SQS: receiving or storing notifications failed")
			if connectors.WaitContext(ctx, backoff) != nil {
				return nil
			}
			backoff = min(backoff*2, q.queue.maxBackoff)
			continue
		}
		backoff = q.queue.minBackoff
	}
	return nil
}

// handle parses one received batch, stores its events and deletes the
// messages that are done with. An unparsable message stays in the queue,
// for its redrive policy to move to a dead-letter queue.
func (q *QueueConnector) handle(ctx context.Context, sink connectors.EventSink, msgs []types.Message) error {
	var (
		events []connectors.Event
		done   []types.DeleteMessageBatchRequestEntry
	)
	now := q.now()
	for i, m := range msgs {
		q.metrics.sqsMessages.WithLabelValues("received").Inc()
		evs, err := ParseNotification(q.name, []byte(aws.ToString(m.Body)), now)
		switch {
		case err == nil:
			events = append(events, evs...)
		case errors.Is(err, connectors.ErrIgnored):
			q.metrics.sqsMessages.WithLabelValues("ignored").Inc()
			q.log.Debug().Str("message_id", aws.ToString(m.MessageId)).Str("reason", err.Error()).Msg("amazon SQS: notification ignored")
		default:
			q.metrics.sqsMessages.WithLabelValues("unparsable").Inc()
			q.log.Error().Err(err).Str("message_id", aws.ToString(m.MessageId)).Msg("amazon SQS: unreadable message left in the queue")
			continue
		}
		done = append(done, types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
	}
	if len(events) > 0 {
		if err := sink.Put(ctx, events); err != nil {
			return fmt.Errorf("putting %d events on the intake: %w", len(events), err)
		}
		q.metrics.countOrderChanges(events)
	}
	if len(done) == 0 {
		return nil
	}
	// The events are stored: finish the delete even if ctx ends now, so
	// they are not delivered again for nothing.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	out, err := q.queue.api.DeleteMessageBatch(dctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(q.queue.url), Entries: done})
	if err != nil {
		// Stored already; a redelivery is a duplicate the intake drops.
		q.log.Warn().Err(err).Int("messages", len(done)).Msg("amazon SQS: delete failed; the messages will come again")
		return nil
	}
	q.metrics.sqsMessages.WithLabelValues("deleted").Add(float64(len(out.Successful)))
	for _, f := range out.Failed {
		q.log.Warn().Str("code", aws.ToString(f.Code)).Str("message", aws.ToString(f.Message)).Msg("amazon SQS: a message was not deleted; it will come again")
	}
	return nil
}
