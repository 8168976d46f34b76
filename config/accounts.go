package config

import (
	"fmt"
	"reflect"
	"strings"
)

// OrderNotifier is implemented by a kind's settings whose channel can hear
// of orders by a way of its own besides the webhook receiver and the poll
// (Amazon's SQS queue): NotifiesOrders says whether this channel does.
type OrderNotifier interface {
	NotifiesOrders() bool
}

// validateOrderSource: a channel must hear of its sales somehow. With
// webhooks off, no poll and no notifier of its own, it never would, and
// would keep listing units it already sold.
func (ch *Channel) validateOrderSource(c *checker, p string) {
	if !ch.Webhook.Disabled || ch.Poll != "" {
		return
	}
	if n, ok := ch.Settings.(OrderNotifier); ok && n.NotifiesOrders() {
		return
	}
	c.addf(p+".poll", "is required with webhook.disabled: with neither webhooks nor a poll the channel never sees a sale")
}

// Identifier is implemented by a kind's settings that can name the
// account a channel is bound to (the shop, the seller, the store), so two
// channels on one account are refused: each would take in the account's
// orders (every sale counted twice) and push over the other's quantities.
// Identity returns "" when it can not tell; it never returns a secret
// (a digest of one at most). ch is the whole channel, defaults applied.
type Identifier interface {
	Identity(ch *Channel) string
}

// validateAccounts refuses two channels of one kind on the same account,
// naming both.
func validateAccounts(c *checker, chans []Channel) {
	seen := map[string]int{}
	for i := range chans {
		ch := &chans[i]
		id, ok := ch.Settings.(Identifier)
		if !ok || reflect.TypeOf(ch.Settings) != settingsType(ch.Kind) {
			continue
		}
		ident := id.Identity(ch)
		if ident == "" {
			continue
		}
		key := ch.Kind + "\x00" + ident
		if j, dup := seen[key]; dup {
			c.addf(fmt.Sprintf("channels[%d]", i), "channel %q is on the same %s account as channels[%d] (%q): %s; one channel per account (each would take in its orders, counting every sale twice)",
				ch.Name, ch.Kind, j, chans[j].Name, ident)
			continue
		}
		seen[key] = i
	}
}

// Warnings are what Load accepts but is likely a mistake: each with its
// key path, in the order of the file. validate prints them and still
// exits 0.
func (cfg *Config) Warnings() []Problem {
	var ws []Problem
	for i, ch := range cfg.Channels {
		if ch.Allocation.Percent != nil && *ch.Allocation.Percent == 0 && ch.Allocation.Min == 0 {
			ws = append(ws, Problem{Path: fmt.Sprintf("channels[%d].allocation.percent", i),
				Msg: fmt.Sprintf("is 0: channel %q lists 0 of every SKU (it sells nothing; allocation.min is 0 too); remove the key for the default 100", ch.Name)})
		}
	}
	return ws
}

// AccountIdentity builds a kind's Identity: what names the account (when
// known) and the API URL override (when set), "" when neither is.
func AccountIdentity(account string, known bool, apiURL string) string {
	var parts []string
	if known {
		parts = append(parts, account)
	}
	if apiURL != "" {
		parts = append(parts, "at "+strings.TrimRight(strings.ToLower(apiURL), "/"))
	}
	return strings.Join(parts, " ")
}
