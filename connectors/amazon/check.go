package amazon

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/shelfsync/shelfsync/connectors"
)

var (
	_ connectors.AccessChecker = (*Connector)(nil)
	_ connectors.AccessChecker = (*QueueConnector)(nil)
)

// Check implements connectors.AccessChecker: an access token from Login
// with Amazon (refused: the seller must authorize again), then
// searchListingsItems for one listing of the seller in its marketplaces
// (pageSize 1, no identifiers: a search "by other listings parameters",
// developer-docs.amazon.com/sp-api/docs/search-for-listings-items-by-id),
// which proves the token, the seller id and the marketplaces go together.
// It waits on the operation's limiter like any reconcile read.
func (c *Connector) Check(ctx context.Context) error {
	q := url.Values{
		"marketplaceIds": {strings.Join(c.marketplace, ",")},
		"pageSize":       {"1"},
	}
	path := "/listings/2021-08-01/items/" + url.PathEscape(c.sellerID)
	if _, err := c.call(ctx, opSearchListings, http.MethodGet, path, q, nil, nil); err != nil {
		return fmt.Errorf("checking the LWA credentials, seller id and marketplaces: %w", err)
	}
	return nil
}

// queueAttributesAPI is the part of the SQS client Check uses.
type queueAttributesAPI interface {
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
}

// Check implements connectors.AccessChecker: the SP-API check, then the
// queue's ARN with GetQueueAttributes, which resolves amazon.sqs.queue_url
// with the AWS credentials (the queue exists in that region, the keys are
// valid and may read it).
func (q *QueueConnector) Check(ctx context.Context) error {
	if err := q.Connector.Check(ctx); err != nil {
		return err
	}
	a, ok := q.queue.api.(queueAttributesAPI)
	if !ok {
		return errors.New("the SQS client can not read queue attributes")
	}
	out, err := a.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       &q.queue.url,
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return fmt.Errorf("resolving the SQS queue %s (it must exist, and the AWS credentials need sqs:GetQueueAttributes, sqs:ReceiveMessage and sqs:DeleteMessage on it): %w", q.queue.url, err)
	}
	if out.Attributes[string(types.QueueAttributeNameQueueArn)] == "" {
		return fmt.Errorf("resolving the SQS queue %s: no QueueArn in the answer", q.queue.url)
	}
	return nil
}
