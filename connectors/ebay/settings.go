package ebay

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/shelfsync/shelfsync/config"
)

// DefaultMarketplace is ebay.marketplace_id's default.
const DefaultMarketplace = "EBAY_US"

// Settings are a channel's `ebay:` block.
type Settings struct {
	// MarketplaceID is the marketplace whose offers are updated.
	MarketplaceID string `yaml:"marketplace_id"`
	// AuthURL overrides the OAuth token endpoint's base URL (or is the
	// whole .../oauth2/token URL).
	AuthURL string `yaml:"auth_url"`
	// Scopes are the user token's scopes (default DefaultScopes).
	Scopes []string `yaml:"scopes"`
	// LocationKeys maps shelfsync location ids to eBay inventory
	// locations (merchantLocationKey), for stock_mode per_location.
	LocationKeys map[string]string `yaml:"location_keys"`
}

var _ config.KindSettings = (*Settings)(nil)

// Defaults implements config.KindSettings.
func (s *Settings) Defaults() {
	if s.MarketplaceID == "" {
		s.MarketplaceID = DefaultMarketplace
	}
	if len(s.Scopes) == 0 {
		s.Scopes = append([]string(nil), DefaultScopes...)
	}
}

// Validate implements config.KindSettings: the OAuth client and refresh
// token, and the endpoint challenge's token and URL unless webhooks are off.
func (s *Settings) Validate(ch *config.Channel) []config.FieldProblem {
	var ps config.FieldProblems
	cr, wh := ch.Credentials, ch.Webhook
	ps.Required("credentials.client_id", cr.ClientID.IsSet())
	ps.Required("credentials.client_secret", cr.ClientSecret.IsSet())
	ps.Required("credentials.refresh_token", cr.RefreshToken.IsSet())
	ps.URL("ebay.auth_url", s.AuthURL, "http", "https")
	if !wh.Disabled {
		ps.Required("webhook.verification_token", wh.VerificationToken.IsSet())
		if wh.EndpointURL == "" {
			ps.Addf("webhook.endpoint_url", "is required: eBay's challenge hashes the endpoint URL")
		}
		ps.URL("webhook.endpoint_url", wh.EndpointURL, "https", "http")
	}
	return append(ps, s.validateLocationKeys(ch)...)
}

// Reference implements connectors.Documented.
func (s *Settings) Reference() []config.KeyDoc {
	return []config.KeyDoc{
		{Key: "credentials.client_id", Default: "required", Meaning: "App ID of the keyset"},
		{Key: "credentials.client_secret", Default: "required", Meaning: "Cert ID of the keyset"},
		{Key: "credentials.refresh_token", Default: "required", Meaning: "the seller's refresh token (user consent)"},
		{Key: "webhook.verification_token", Default: "required", Meaning: "the endpoint challenge's token, as registered with eBay; not needed with `webhook.disabled`"},
		{Key: "webhook.endpoint_url", Default: "required", Meaning: "exactly the endpoint URL registered with eBay (the challenge hashes it); not needed with `webhook.disabled`"},
		{Key: "ebay.marketplace_id", Default: "`" + DefaultMarketplace + "`", Meaning: "the marketplace whose offers are updated"},
		{Key: "ebay.auth_url", Default: "eBay's", Meaning: "OAuth token endpoint base URL override (or the full `.../oauth2/token` URL)"},
		{Key: "ebay.scopes", Default: "sell.fulfillment, sell.inventory", Meaning: "OAuth scopes of the user token"},
		{Key: "ebay.location_keys", Default: "none", Meaning: "shelfsync location id → eBay inventory location (`merchantLocationKey`, 1–36 characters), for every location of a `stock_mode: per_location` channel (no two sharing one): each location's figure goes in the inventory item's `availabilityDistributions`, the ship-to quantity is their sum; unused in `single` mode"},
	}
}

var _ config.Identifier = (*Settings)(nil)

// Identity implements config.Identifier: the seller, as far as the config
// tells it: the refresh token (one per seller's consent), shown only as
// the start of its SHA-256, and api_url when set. Two tokens of one
// seller are not found.
func (s *Settings) Identity(ch *config.Channel) string {
	tok := ch.Credentials.RefreshToken
	sum := sha256.Sum256([]byte(tok.Value()))
	return config.AccountIdentity("seller of the refresh token sha256:"+hex.EncodeToString(sum[:4]), tok.IsSet(), ch.APIURL)
}

// maxLocationKey is the longest merchantLocationKey eBay's location
// methods take ("Max length: 36").
const maxLocationKey = 36

// validateLocationKeys checks ebay.location_keys: on a per_location
// channel every location needs a key and no two may share one (each
// would overwrite the other's figure); any key given is 1 to 36
// characters without control characters and is not the name reads give
// the undistributed part of the ship-to quantity.
func (s *Settings) validateLocationKeys(ch *config.Channel) []config.FieldProblem {
	var ps config.FieldProblems
	for _, loc := range slices.Sorted(maps.Keys(s.LocationKeys)) {
		k := s.LocationKeys[loc]
		switch {
		case k == "" || utf8.RuneCountInString(k) > maxLocationKey:
			ps.Addf("ebay.location_keys."+loc, "a merchantLocationKey has 1 to %d characters, got %q", maxLocationKey, k)
		case strings.IndexFunc(k, unicode.IsControl) >= 0:
			ps.Addf("ebay.location_keys."+loc, "%q holds a control character", k)
		case k == UndistributedKey:
			ps.Addf("ebay.location_keys."+loc, "%q is the name shelfsync gives the ship-to quantity no location holds", k)
		}
	}
	if !ch.PerLocation() {
		return ps
	}
	by := map[string]string{}
	for _, l := range ch.Locations {
		k := s.LocationKeys[l]
		if k == "" {
			ps.Addf("ebay.location_keys", "no eBay merchantLocationKey for location %q (stock_mode per_location)", l)
			continue
		}
		if prev, ok := by[k]; ok {
			ps.Addf("ebay.location_keys."+l, "maps to the same eBay location as %q: with stock_mode per_location each location needs its own", prev)
		}
		by[k] = l
	}
	return ps
}
