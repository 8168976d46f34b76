package inventory

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// fieldSep joins channel, order and line ids in a line record's field and
// in an order index key; ids containing it are rejected.
const fieldSep = '\x1f'

// keySKU is the SKU as it appears inside the hash tag. A SKU with a brace
// would end or start the tag early and scatter its keys over slots, so such
// SKUs (and those starting with '~', to keep decoding unambiguous) are
// hex-encoded behind a '~'.
func keySKU(sku string) string {
	if strings.ContainsAny(sku, "{}") || strings.HasPrefix(sku, "~") {
		return "~" + hex.EncodeToString([]byte(sku))
	}
	return sku
}

// skuFromKeySKU reverses keySKU.
func skuFromKeySKU(k string) (string, error) {
	if !strings.HasPrefix(k, "~") {
		if k == "" || strings.ContainsAny(k, "{}") {
			return "", fmt.Errorf("not a key SKU: %q", k)
		}
		return k, nil
	}
	b, err := hex.DecodeString(k[1:])
	if err != nil {
		return "", fmt.Errorf("decoding key SKU %q: %w", k, err)
	}
	return string(b), nil
}

// skuKeys are every key of one SKU; they share the hash tag {sku}, so each
// script touches one Cluster slot.
type skuKeys struct {
	stock   string // hash: location -> "onhand,reserved[,countversion]"
	lines   string // hash: channel\x1forder\x1fline -> line record
	closed  string // zset: closed line fields by closing time (ms)
	journal string // stream of movements
	opBase  string // string per operation key: first result "onhand,reserved"
}

func (l *Ledger) keys(sku string) skuKeys {
	tag := skuTag(sku)
	p := l.opts.Prefix
	return skuKeys{
		stock:   p + "s:" + tag,
		lines:   p + "l:" + tag,
		closed:  p + "x:" + tag,
		journal: p + "j:" + tag,
		opBase:  p + "k:" + tag,
	}
}

func (k skuKeys) op(key string) string { return k.opBase + key }

// stockKey is keys(sku).stock without building the SKU's other keys (one
// string, not six: StockMany reads it for every SKU a propagation touches).
func (l *Ledger) stockKey(sku string) string {
	return l.opts.Prefix + "s:{" + keySKU(sku) + "}"
}

// lineKeyKinds are the key kinds of line.lua's first keys, in order:
// stock, lines, closed, journal (keys), then, with signals, the reorder
// hash and pending signal events (signalKeys).
var lineKeyKinds = [6]string{"s:", "l:", "x:", "j:", "rp:", "se:"}

// lineScriptKeys are the keys a SKU's line.lua run starts with:
// withSignals(sig, sku, k.stock, k.lines, k.closed, k.journal) of k = keys(sku),
// cut from one string (one allocation for the six names, not twelve).
func (l *Ledger) lineScriptKeys(sku string, sig bool) []string {
	n := 4
	if sig {
		n = 6
	}
	ks, p := keySKU(sku), l.opts.Prefix
	var b strings.Builder
	b.Grow(n * (len(p) + len(ks) + 5))
	var ends [len(lineKeyKinds)]int
	for i := 0; i < n; i++ {
		b.WriteString(p)
		b.WriteString(lineKeyKinds[i])
		b.WriteByte('{')
		b.WriteString(ks)
		b.WriteByte('}')
		ends[i] = b.Len()
	}
	all := b.String()
	keys := make([]string, n)
	start := 0
	for i := range keys {
		keys[i], start = all[start:ends[i]], ends[i]
	}
	return keys
}

func skuTag(sku string) string { return "{" + keySKU(sku) + "}" }

// countKeys appends the keys a count script needs of sku (count.lua,
// count_bulk.lua): stock hash, journal, and with signals on the reorder
// hash and pending signal events; the same names as keys and
// signalKeys, without building the others (a bulk import does this for
// every SKU).
func (l *Ledger) countKeys(dst []string, sku string, sig bool) []string {
	tag, p := skuTag(sku), l.opts.Prefix
	dst = append(dst, p+"s:"+tag, p+"j:"+tag)
	if sig {
		dst = append(dst, p+"rp:"+tag, p+"se:"+tag)
	}
	return dst
}

// openingKey is the opening hash of sku's slot: SKU -> the entries of its
// first counts, for SKUs that a bulk count created (count_bulk.lua). It
// shares the slot, not the SKU's tag.
func (l *Ledger) openingKey(sku string) string { return l.slotOpeningKey(SKUSlot(sku)) }

// slotOpeningKey is the opening hash of a Cluster slot.
func (l *Ledger) slotOpeningKey(slot int) string {
	return l.opts.Prefix + "jo:{" + slotTags()[slot] + "}"
}

// skuFromStockKey extracts the SKU from a stock hash key found by SCAN.
func (l *Ledger) skuFromStockKey(key string) (string, error) {
	head := l.opts.Prefix + "s:{"
	if !strings.HasPrefix(key, head) || !strings.HasSuffix(key, "}") || len(key) < len(head)+2 {
		return "", fmt.Errorf("not a stock key: %q", key)
	}
	return skuFromKeySKU(key[len(head) : len(key)-1])
}

// orderKey is the order index: line id -> SKU. It is a plain key outside
// any SKU's slot, written in the same pipeline as the line scripts.
func (l *Ledger) orderKey(channel, orderID string) string {
	return l.opts.Prefix + "o:" + channel + string(fieldSep) + orderID
}

// intentKeys share the hash tag {intents} so the mark script is one slot.
func (l *Ledger) intentKeys() (zset, seq string) {
	return l.opts.Prefix + "{intents}", l.opts.Prefix + "{intents}:seq"
}

func lineField(channel, orderID, lineID string) string {
	return channel + string(fieldSep) + orderID + string(fieldSep) + lineID
}

func splitLineField(f string) (channel, orderID, lineID string, err error) {
	parts := strings.Split(f, string(fieldSep))
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return "", "", "", fmt.Errorf("malformed line field %q", f)
	}
	return parts[0], parts[1], parts[2], nil
}

// globEscape quotes SCAN MATCH metacharacters in a literal.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
