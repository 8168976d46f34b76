package shopify

import (
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/shelfsync/shelfsync/config"
)

// DefaultAPIVersion is the Admin API version of shopify.api_version.
const DefaultAPIVersion = "2026-04"

// Settings are a channel's `shopify:` block.
type Settings struct {
	// Shop is the myshopify domain (example.myshopify.com); the API URL is
	// derived from it unless api_url is set.
	Shop       string `yaml:"shop"`
	APIVersion string `yaml:"api_version"`
	// LocationIDs maps shelfsync location ids to Shopify location GIDs
	// (or their bare numbers).
	LocationIDs map[string]string `yaml:"location_ids"`
	// NotifyCustomer is fulfillmentCreate's notifyCustomer: whether
	// Shopify emails the buyer the shipment and its tracking when a
	// shipment is confirmed (nil: true).
	NotifyCustomer *bool `yaml:"notify_customer"`
	// ReadShipTo asks order polls and fetches for the shipping address's
	// country and province, the order's destination for routing (nil:
	// true). Shopify refuses or redacts it to an app without level 2
	// protected customer data; the connector then reads without it.
	ReadShipTo *bool `yaml:"read_ship_to"`
}

var _ config.KindSettings = (*Settings)(nil)

// Defaults implements config.KindSettings.
func (s *Settings) Defaults() {
	if s.APIVersion == "" {
		s.APIVersion = DefaultAPIVersion
	}
}

// Validate implements config.KindSettings: the access token, the shop (or
// api_url), a Shopify location for every location the channel sells from,
// and webhook secrets unless webhooks are off.
func (s *Settings) Validate(ch *config.Channel) []config.FieldProblem {
	var ps config.FieldProblems
	ps.Required("credentials.access_token", ch.Credentials.AccessToken.IsSet())
	if ch.APIURL == "" {
		switch u, err := url.Parse("https://" + s.Shop); {
		case s.Shop == "":
			ps.Addf("shopify.shop", "is required unless api_url is set")
		case err != nil || u.Host != s.Shop:
			ps.Addf("shopify.shop", "must be the store's myshopify domain (example.myshopify.com), got %q", s.Shop)
		}
	}
	for _, l := range ch.Locations {
		if s.LocationIDs[l] == "" {
			ps.Addf("shopify.location_ids", "no Shopify location id for location %q", l)
		}
	}
	if ch.PerLocation() {
		ps = append(ps, s.sharedLocations(ch)...)
	}
	for _, loc := range slices.Sorted(maps.Keys(s.LocationIDs)) {
		if id := s.LocationIDs[loc]; id != "" && numericID(id) == "" {
			ps.Addf("shopify.location_ids."+loc, "%q is not a Shopify location id (gid://shopify/Location/N or N)", id)
		}
	}
	if !ch.Webhook.Disabled && len(ch.Webhook.Secrets) == 0 {
		ps.Addf("webhook.secrets", "at least one secret is required (or set webhook.disabled: true)")
	}
	return ps
}

// Reference implements connectors.Documented.
func (s *Settings) Reference() []config.KeyDoc {
	return []config.KeyDoc{
		{Key: "credentials.access_token", Default: "required", Meaning: "Admin API access token (`shpat_…`)"},
		{Key: "webhook.secrets", Default: "required", Meaning: "HMAC keys of the deliveries (the app's client secret; several during a rotation); not needed with `webhook.disabled`"},
		{Key: "shopify.shop", Default: "required", Meaning: "`example.myshopify.com`; the API URL is `https://{shop}` unless `api_url` is set (then optional)"},
		{Key: "shopify.api_version", Default: "`" + DefaultAPIVersion + "`", Meaning: "Admin API version"},
		{Key: "shopify.location_ids", Default: "required", Meaning: "shelfsync location id → Shopify location GID (or its number), for every location the channel sells from; pushes go to the first one's (`stock_mode: single`) or each to its own (`per_location`, where no two may share a Shopify location)"},
		{Key: "shopify.read_ship_to", Default: "`true`", Meaning: "ask order polls and fetches (GraphQL) for `shippingAddress { countryCodeV2 provinceCode }`, the order's destination for routing's `region` rule; an address is level 2 protected customer data: if Shopify refuses the field (an `ACCESS_DENIED` error naming it, or any error on the `shippingAddress` path) the read is made again without it, and if that succeeds it is not asked for again until restart (logged once, `shelfsync_shopify_ship_to_refused_total`); a redacted (null) address is no destination; either way those orders have none; `false` never asks (webhook bodies carry `shipping_address` regardless)"},
		{Key: "shopify.notify_customer", Default: "`true`", Meaning: "whether Shopify emails the buyer the shipment and its tracking when shelfsync confirms a shipment (`fulfillmentCreate`'s `notifyCustomer`, whose own default is false)"},
	}
}

var _ config.Identifier = (*Settings)(nil)

// Identity implements config.Identifier: the shop's domain (lower case),
// and api_url when set (a test server or a proxy).
func (s *Settings) Identity(ch *config.Channel) string {
	return config.AccountIdentity("shop "+strings.ToLower(strings.TrimSpace(s.Shop)), s.Shop != "", ch.APIURL)
}

// sharedLocations refuses two locations of a per_location channel mapped
// to one Shopify location: each would overwrite the other's figure.
func (s *Settings) sharedLocations(ch *config.Channel) []config.FieldProblem {
	var ps config.FieldProblems
	by := map[string]string{}
	for _, l := range ch.Locations {
		n := numericID(s.LocationIDs[l])
		if n == "" {
			continue
		}
		if prev, ok := by[n]; ok {
			ps.Addf("shopify.location_ids."+l, "maps to the same Shopify location as %q: with stock_mode per_location each location needs its own", prev)
		}
		by[n] = l
	}
	return ps
}
