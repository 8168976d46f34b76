package amazon

import (
	"fmt"
	"slices"
	"time"

	"github.com/shelfsync/shelfsync/config"
)

// The values of amazon.orders_api: the Orders API versions the connector speaks.
const (
	OrdersV2026 = "v2026-01-01"
	OrdersV0    = "v0"
)

// OrdersAPIs lists the values amazon.orders_api takes.
var OrdersAPIs = []string{OrdersV2026, OrdersV0}

// Defaults of the settings.
const (
	DefaultRegion         = "na"
	DefaultProductType    = "PRODUCT"
	DefaultFeedThreshold  = 50
	DefaultOrdersAPI      = OrdersV2026
	DefaultSQSWaitTime    = 20 * time.Second
	DefaultSQSMaxMessages = 10
)

// Regions are the SP-API regions amazon.region takes.
var Regions = []string{"na", "eu", "fe"}

// Settings are a channel's `amazon:` block.
type Settings struct {
	SellerID       string   `yaml:"seller_id"`
	MarketplaceIDs []string `yaml:"marketplace_ids"`
	// Region is na, eu or fe; it picks the SP-API endpoint unless api_url is set.
	Region string `yaml:"region"`
	// AuthURL overrides the Login with Amazon token endpoint.
	AuthURL     string `yaml:"auth_url"`
	ProductType string `yaml:"product_type"`
	// FeedThreshold: a push of at least this many SKUs goes as one
	// JSON_LISTINGS_FEED, fewer as patchListingsItem calls.
	FeedThreshold int `yaml:"feed_threshold"`
	// OrdersAPI is the Orders API version the poller and order fetches
	// use: v2026-01-01 (searchOrders and getOrder, items inline: one call
	// per page or order) or v0 (getOrders, getOrder and getOrderItems,
	// which Amazon removes; migrate by 2027-03-27).
	OrdersAPI string `yaml:"orders_api"`
	// ReadShipTo (v2026-01-01; nil: true) asks searchOrders and getOrder
	// for the RECIPIENT dataset, whose deliveryAddress countryCode and
	// stateOrRegion are the order's destination for routing.
	ReadShipTo *bool `yaml:"read_ship_to"`
	SQS        SQS   `yaml:"sqs"`
}

// SQS is Amazon's notification queue for ORDER_CHANGE.
type SQS struct {
	QueueURL string `yaml:"queue_url"`
	// Region is the queue's AWS region; empty reads it from QueueURL.
	Region string `yaml:"region"`
	// Endpoint overrides the SQS endpoint (tests, VPC endpoints).
	Endpoint    string        `yaml:"endpoint"`
	WaitTime    time.Duration `yaml:"wait_time"`
	MaxMessages int           `yaml:"max_messages"`
}

var _ config.KindSettings = (*Settings)(nil)

// Defaults implements config.KindSettings.
func (s *Settings) Defaults() {
	if s.Region == "" {
		s.Region = DefaultRegion
	}
	if s.ProductType == "" {
		s.ProductType = DefaultProductType
	}
	if s.FeedThreshold == 0 {
		s.FeedThreshold = DefaultFeedThreshold
	}
	if s.OrdersAPI == "" {
		s.OrdersAPI = DefaultOrdersAPI
	}
	if s.SQS.WaitTime == 0 {
		s.SQS.WaitTime = DefaultSQSWaitTime
	}
	if s.SQS.MaxMessages == 0 {
		s.SQS.MaxMessages = DefaultSQSMaxMessages
	}
}

// Validate implements config.KindSettings: the Login with Amazon client and
// refresh token, the seller and marketplaces, the ranges Amazon and SQS
// accept, and the relay's header and secrets unless webhooks are off.
func (s *Settings) Validate(ch *config.Channel) []config.FieldProblem {
	var ps config.FieldProblems
	cr := ch.Credentials
	ps.Required("credentials.client_id", cr.ClientID.IsSet())
	ps.Required("credentials.client_secret", cr.ClientSecret.IsSet())
	ps.Required("credentials.refresh_token", cr.RefreshToken.IsSet())
	if cr.AWSAccessKeyID.IsSet() != cr.AWSSecretAccessKey.IsSet() {
		ps.Addf("credentials", "aws_access_key_id and aws_secret_access_key go together: set both or neither")
	}
	ps.Required("amazon.seller_id", s.SellerID != "")
	if len(s.MarketplaceIDs) == 0 {
		ps.Addf("amazon.marketplace_ids", "at least one marketplace id is required")
	}
	if !slices.Contains(Regions, s.Region) {
		ps.Addf("amazon.region", "must be na, eu or fe, got %q", s.Region)
	}
	ps.URL("amazon.auth_url", s.AuthURL, "http", "https")
	if s.FeedThreshold < 1 || s.FeedThreshold > maxBatch {
		ps.Addf("amazon.feed_threshold", "must be between 1 and %d, got %d", maxBatch, s.FeedThreshold)
	}
	if !slices.Contains(OrdersAPIs, s.OrdersAPI) {
		ps.Addf("amazon.orders_api", "must be %s or %s, got %q", OrdersV2026, OrdersV0, s.OrdersAPI)
	}
	s.SQS.validate(&ps)
	if wh := ch.Webhook; !wh.Disabled {
		if len(wh.Secrets) == 0 {
			ps.Addf("webhook.secrets", "at least one secret is required (or set webhook.disabled: true)")
		}
		if wh.Header == "" {
			ps.Addf("webhook.header", "is required: the header that carries the relay's secret")
		}
	}
	return ps
}

func (q *SQS) validate(ps *config.FieldProblems) {
	ps.URL("amazon.sqs.queue_url", q.QueueURL, "http", "https")
	ps.URL("amazon.sqs.endpoint", q.Endpoint, "http", "https")
	if q.WaitTime < 0 || q.WaitTime > 20*time.Second {
		ps.Addf("amazon.sqs.wait_time", "must be between 0s and 20s (SQS long polling), got %s", q.WaitTime)
	}
	if q.MaxMessages < 1 || q.MaxMessages > 10 {
		ps.Addf("amazon.sqs.max_messages", "must be between 1 and 10, got %d", q.MaxMessages)
	}
	if q.QueueURL != "" && q.Region == "" && regionOfQueue(q.QueueURL) == "" {
		ps.Addf("amazon.sqs.region", "is required: the queue URL names no region")
	}
}

// Reference implements connectors.Documented.
func (s *Settings) Reference() []config.KeyDoc {
	return []config.KeyDoc{
		{Key: "credentials.client_id", Default: "required", Meaning: "Login with Amazon client id"},
		{Key: "credentials.client_secret", Default: "required", Meaning: "Login with Amazon client secret"},
		{Key: "credentials.refresh_token", Default: "required", Meaning: "the seller's refresh token (self-authorization)"},
		{Key: "credentials.aws_access_key_id", Default: "default chain", Meaning: "AWS credentials of the SQS queue, with `aws_secret_access_key` (both or neither); empty: the AWS SDK's default credential chain (environment, shared config, IAM role for service accounts, ECS task role, instance profile)"},
		{Key: "credentials.aws_secret_access_key", Default: "default chain", Meaning: "see `aws_access_key_id`"},
		{Key: "webhook.secrets", Default: "required", Meaning: "shared secrets relays send in `webhook.header` (several during a rotation); not needed with `webhook.disabled`"},
		{Key: "webhook.header", Default: "required", Meaning: "the header that carries the relay's secret; not needed with `webhook.disabled`"},
		{Key: "amazon.seller_id", Default: "required", Meaning: "the seller id (Merchant Token)"},
		{Key: "amazon.marketplace_ids", Default: "required", Meaning: "at least one"},
		{Key: "amazon.region", Default: "`" + DefaultRegion + "`", Meaning: "`na`, `eu` or `fe`: picks the SP-API endpoint"},
		{Key: "amazon.auth_url", Default: "LWA's", Meaning: "token endpoint override"},
		{Key: "amazon.product_type", Default: "`" + DefaultProductType + "`", Meaning: "for listings patches"},
		{Key: "amazon.feed_threshold", Default: fmt.Sprintf("`%d`", DefaultFeedThreshold), Meaning: "a push of at least this many SKUs goes as one listings feed, 1–25000"},
		{Key: "amazon.orders_api", Default: "`" + DefaultOrdersAPI + "`", Meaning: "Orders API of polls and order fetches: `v2026-01-01` (searchOrders, getOrder) or `v0` (getOrders, getOrder, getOrderItems; Amazon removes it, migrate by 2027-03-27)"},
		{Key: "amazon.read_ship_to", Default: "`true`", Meaning: "with `orders_api: v2026-01-01`, ask for the `RECIPIENT` dataset too: the delivery address's `countryCode` and `stateOrRegion` (not PII to Amazon) become the order's destination for routing's `region` rule; if Amazon refuses a read asking for it (a 400 or 403 naming it, a role or access: the app lacks the Direct-to-Consumer Delivery role) the read is made again without it, and if that succeeds it is not asked for again until restart (logged once, `shelfsync_amazon_ship_to_refused_total`), so those orders have no destination; `false` never asks (v0 always reads `ShippingAddress`)"},
		{Key: "amazon.sqs.queue_url", Default: "", Meaning: "ORDER_CHANGE notification queue"},
		{Key: "amazon.sqs.region", Default: "from the URL", Meaning: "the queue's AWS region; required when the URL names none"},
		{Key: "amazon.sqs.endpoint", Default: "", Meaning: "SQS endpoint override"},
		{Key: "amazon.sqs.wait_time", Default: "`" + DefaultSQSWaitTime.String() + "`", Meaning: "long-poll wait, 0–20s"},
		{Key: "amazon.sqs.max_messages", Default: fmt.Sprintf("`%d`", DefaultSQSMaxMessages), Meaning: "per receive, 1–10"},
	}
}

var (
	_ config.Identifier    = (*Settings)(nil)
	_ config.OrderNotifier = (*Settings)(nil)
)

// Identity implements config.Identifier: the seller id in its SP-API
// region (the listings of a seller's marketplaces in one region share its
// SKUs' quantities), and api_url when set.
func (s *Settings) Identity(ch *config.Channel) string {
	return config.AccountIdentity(fmt.Sprintf("seller %s in region %s", s.SellerID, s.Region), s.SellerID != "", ch.APIURL)
}

// NotifiesOrders implements config.OrderNotifier: a channel with an SQS
// queue hears of its orders through it, webhooks and polls aside.
func (s *Settings) NotifiesOrders() bool { return s.SQS.QueueURL != "" }
